#!/usr/bin/env python3
"""Golden logits of the authors' released MicroExpNet models, computed by TensorFlow itself.

Restores each released checkpoint into the authors' own saved graph (`MicroExpNet_*.meta`, which
`MicroExpNet.py` built when they trained it), feeds a fixed set of 84x84 grey images (raw 0..255,
as `exampleUsage.py` does) with keep-probability 1.0, and writes what the graph's logits node
(`Add_1`, before the softmax) returns. The Rust test
`released::microexpnet::tests::both_released_models_reproduce_tensorflows_logits` compares ours
with these within 1e-4.

Inputs (uint8, N x 84 x 84, written to `inputs.npy`): uniform noise, smooth patterns, the two
constant images, and the face of `assets/photos/astronaut.jpg` cut at several boxes.

Run once (it needs `pip install tensorflow-cpu numpy`; the outputs are committed):
    python3 scripts/microexpnet-golden.py released/microexpnet
"""
import hashlib
import os
import sys

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()

MODELS = [("CK", "MicroExpNet_CK", "logits-ck.npy"),
          ("OuluCASIA", "MicroExpNet_OuluCASIA", "logits-oulu-casia.npy")]
SIDE = 84
PHOTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "photos", "astronaut.jpg")
# Boxes (x, y, side) around the astronaut's face in the 512 x 512 photograph, tight to loose.
FACE_BOXES = [(170, 40, 140), (160, 30, 160), (150, 20, 190), (180, 60, 110)]


def inputs():
    rng = np.random.RandomState(2019)
    images = [rng.randint(0, 256, size=(SIDE, SIDE)) for _ in range(6)]
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    images.append(255.0 * xx / (SIDE - 1))
    images.append(255.0 * yy / (SIDE - 1))
    images.append(127.5 + 127.5 * np.sin(xx / 5.0) * np.cos(yy / 7.0))
    images.append(255.0 * np.exp(-((xx - 42) ** 2 + (yy - 40) ** 2) / 400.0))
    images.append(np.zeros((SIDE, SIDE)))
    images.append(np.full((SIDE, SIDE), 255.0))
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        img = tf.image.rgb_to_grayscale(tf.io.decode_jpeg(tf.io.read_file(PHOTO), channels=3))
        for (x, y, s) in FACE_BOXES:
            face = tf.image.resize(tf.image.crop_to_bounding_box(img, y, x, s, s), (SIDE, SIDE), method="bilinear")
            images.append(sess.run(face)[:, :, 0])
    return np.stack([np.clip(np.round(i), 0, 255).astype(np.uint8) for i in images])


def logits(model_dir, prefix, x):
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        saver = tf.compat.v1.train.import_meta_graph(os.path.join(model_dir, prefix + ".meta"))
        saver.restore(sess, os.path.join(model_dir, prefix))
        g = sess.graph
        feed = {g.get_tensor_by_name("Placeholder:0"): x.reshape(len(x), SIDE * SIDE).astype(np.float32),
                g.get_tensor_by_name("Placeholder_2:0"): 1.0}  # dropout's keep probability
        return sess.run(g.get_tensor_by_name("Add_1:0"), feed_dict=feed).astype(np.float32)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: microexpnet-golden.py RELEASED_DIR (e.g. released/microexpnet)")
    root = sys.argv[1]
    out = os.path.join(root, "golden")
    os.makedirs(out, exist_ok=True)
    x = inputs()
    np.save(os.path.join(out, "inputs.npy"), x)
    for (sub, prefix, name) in MODELS:
        z = logits(os.path.join(root, sub), prefix, x)
        np.save(os.path.join(out, name), z)
        print(f"{name}: {z.shape}, |logit| up to {np.abs(z).max():.3f}, argmax {z.argmax(1).tolist()}")
    for f in sorted(os.listdir(out)):
        with open(os.path.join(out, f), "rb") as fh:
            print(hashlib.sha256(fh.read()).hexdigest(), f)
    print(f"tensorflow {tf.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
