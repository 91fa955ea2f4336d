#!/usr/bin/env python3
"""The MicroExpNet authors' own test-time recipe (`exampleUsage.py` of github.com/cuguilke/microexpnet)
on a photograph, for comparison with `fer-pipeline predict`'s framing of released models.

For each face box (the OpenCV Haar cascade's first face, as `exampleUsage.py` finds it, plus the
boxes given on the command line, e.g. the one our detector finds), it does what `segmentFace`
does (crop the box from the BGR image, `cv2.resize` to 256 x 256, the [32:256, 32:256] window,
`cv2.resize` to 84 x 84, then grey), restores each released checkpoint into the authors' saved
graph in TensorFlow, and writes the softmax of the logits as JSON. The committed output is
`released/microexpnet/golden/astronaut-example-usage.json`; the unit test
`predict::tests::the_authors_recipe_gives_what_their_example_script_gives` compares ours with it.

Needs `pip install tensorflow-cpu "opencv-python-headless<5" numpy` (OpenCV 5 dropped the
cascade classifier). Run once:
    python3 scripts/microexpnet-example-usage.py assets/photos/astronaut.jpg released/microexpnet 177,68,95,95 \
        > released/microexpnet/golden/astronaut-example-usage.json
"""
import json
import sys

import cv2
import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()
MODELS = [("microexpnet-ck", "CK", "MicroExpNet_CK"), ("microexpnet-oulu-casia", "OuluCASIA", "MicroExpNet_OuluCASIA")]


def segment(img, box):
    p, q, r, s = box
    face = cv2.resize(img[q:q + s, p:p + r], (256, 256))[32:256, 32:256]
    return cv2.cvtColor(cv2.resize(face, (84, 84)), cv2.COLOR_BGR2GRAY)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: microexpnet-example-usage.py PHOTO RELEASED_DIR [x,y,w,h ...]")
    img = cv2.imread(sys.argv[1])
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    haar = cascade.detectMultiScale(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), 1.3, 5)
    boxes = [("haar", [int(v) for v in haar[0]])] if len(haar) else []
    boxes += [("given", [int(v) for v in b.split(",")]) for b in sys.argv[3:]]
    out = {"photo": sys.argv[1], "tensorflow": tf.__version__, "opencv": cv2.__version__, "faces": []}
    for source, box in boxes:
        x = segment(img, box).reshape(1, 84 * 84).astype(np.float32)
        face = {"source": source, "box": box, "probabilities": {}}
        for name, sub, prefix in MODELS:
            with tf.compat.v1.Session(graph=tf.Graph()) as sess:
                saver = tf.compat.v1.train.import_meta_graph(f"{sys.argv[2]}/{sub}/{prefix}.meta")
                saver.restore(sess, f"{sys.argv[2]}/{sub}/{prefix}")
                g = sess.graph
                feed = {g.get_tensor_by_name("Placeholder:0"): x, g.get_tensor_by_name("Placeholder_2:0"): 1.0}
                z = sess.run(g.get_tensor_by_name("Add_1:0"), feed)[0].astype(np.float64)
            p = np.exp(z - z.max())
            face["probabilities"][name] = [round(float(v), 6) for v in p / p.sum()]
        out["faces"].append(face)
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
