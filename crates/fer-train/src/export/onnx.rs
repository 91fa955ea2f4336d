//! The ONNX graph (opset 17) of a trained model, written node by node from our own layer
//! definitions (src/models) with its weights as initializers; the input scaling is in the graph.

use std::collections::HashMap;

use prost::Message;
use tch::{Kind, Tensor};

use super::onnx_proto::{
    attr_type, AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto, FLOAT, INT64,
};
use crate::models::{DeepEmotion, Model};
use fer_core::spec::{InputNorm, ModelSpec};

/// The opset the graph is written for (GridSample needs 16 or later).
pub const OPSET: i64 = 17;
/// ONNX IR version matching [`OPSET`].
const IR_VERSION: i64 = 8;
/// Name of the graph's input: raw grayscale faces, N x 1 x S x S, 0..255 floats.
pub const INPUT: &str = "faces";
/// Name of the graph's output: N x classes logits.
pub const OUTPUT: &str = "logits";

/// The serialized ONNX model of `model`; `metadata` goes into `metadata_props`.
pub fn export(model: &Model, metadata: &[(String, String)]) -> Result<Vec<u8>, String> {
    let mut g = Graph::new(model);
    let side = model.spec.input_size() as i64;
    let x = g.normalize(INPUT.to_string(), model.spec.input_norm(), side);
    let logits = match model.spec {
        ModelSpec::DeepEmotion { .. } => deep_emotion(&mut g, x)?,
        ModelSpec::MicroExpNet { .. } => microexpnet(&mut g, x)?,
        ModelSpec::InceptionV3 { .. } => inception(&mut g, x)?,
    };
    g.nodes.push(node("Identity", &[&logits], &[OUTPUT], vec![]));
    let value = |name: &str, dims: Vec<Dimension>| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto { elem_type: FLOAT, shape: Some(TensorShapeProto { dim: dims }) }),
        }),
    };
    let n = || Dimension { dim_value: None, dim_param: Some("N".into()) };
    let fixed = |v: i64| Dimension { dim_value: Some(v), dim_param: None };
    let graph = GraphProto {
        node: g.nodes,
        name: model.spec.display(),
        initializer: g.inits,
        doc_string: String::new(),
        input: vec![value(INPUT, vec![n(), fixed(1), fixed(side), fixed(side)])],
        output: vec![value(OUTPUT, vec![n(), fixed(model.classes)])],
    };
    let proto = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "fer-pipeline".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: String::new(),
        model_version: 1,
        doc_string: format!("{} logits from raw grayscale faces (0..255)", model.spec.display()),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto { key: k.clone(), value: v.clone() })
            .collect(),
    };
    Ok(proto.encode_to_vec())
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: outputs.first().map(|s| format!("{op}_{s}")).unwrap_or_default(),
        op_type: op.into(),
        attribute,
        domain: String::new(),
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), ints: v.to_vec(), r#type: attr_type::INTS, ..Default::default() }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), i, r#type: attr_type::INT, ..Default::default() }
}

fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto { name: name.into(), f, r#type: attr_type::FLOAT, ..Default::default() }
}

fn string(name: &str, s: &str) -> AttributeProto {
    AttributeProto { name: name.into(), s: s.as_bytes().to_vec(), r#type: attr_type::STRING, ..Default::default() }
}

/// A graph under construction: nodes, initializers and the model's tensors by name.
struct Graph {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    params: HashMap<String, Tensor>,
    next: usize,
}

impl Graph {
    fn new(model: &Model) -> Graph {
        Graph { nodes: Vec::new(), inits: Vec::new(), params: model.named_tensors().into_iter().collect(), next: 0 }
    }

    fn fresh(&mut self, op: &str) -> String {
        self.next += 1;
        format!("{}_{}", op.to_lowercase(), self.next)
    }

    /// Adds a node with one output; returns the output's name.
    fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        let out = self.fresh(op);
        self.nodes.push(node(op, inputs, &[&out], attrs));
        out
    }

    fn float_init(&mut self, name: &str, dims: &[i64], values: &[f32]) -> String {
        let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.inits.push(TensorProto { dims: dims.to_vec(), data_type: FLOAT, name: name.into(), raw_data });
        name.into()
    }

    fn int_init(&mut self, dims: &[i64], values: &[i64]) -> String {
        let name = self.fresh("const");
        let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.inits.push(TensorProto { dims: dims.to_vec(), data_type: INT64, name: name.clone(), raw_data });
        name
    }

    fn scalar(&mut self, v: f32) -> String {
        let name = self.fresh("scalar");
        self.float_init(&name, &[], &[v])
    }

    /// The model's tensor `name` as an initializer (added once).
    fn param(&mut self, name: &str) -> Result<String, String> {
        if self.inits.iter().any(|t| t.name == name) {
            return Ok(name.into());
        }
        let t = self.params.get(name).ok_or_else(|| format!("the model has no tensor `{name}`"))?;
        let t = t.to_kind(Kind::Float).to_device(tch::Device::Cpu).contiguous();
        let dims = t.size();
        let values = Vec::<f32>::try_from(t.view([-1])).map_err(|e| format!("failed to read `{name}`: {e}"))?;
        Ok(self.float_init(name, &dims, &values))
    }

    fn has(&self, name: &str) -> bool {
        self.params.contains_key(name)
    }

    /// The input scaling of `Model::preprocess` (after any crop).
    fn normalize(&mut self, x: String, norm: InputNorm, side: i64) -> String {
        match norm {
            InputNorm::Raw => x,
            InputNorm::Centered => {
                let (c255, half) = (self.scalar(255.0), self.scalar(0.5));
                let a = self.op("Div", &[&x, &c255], vec![]);
                let b = self.op("Sub", &[&a, &half], vec![]);
                self.op("Div", &[&b, &half], vec![])
            }
            InputNorm::Standardize => {
                // (x - mean) / (unbiased std + 1e-5) per image.
                let axes = vec![ints("axes", &[1, 2, 3]), int("keepdims", 1)];
                let mean = self.op("ReduceMean", &[&x], axes.clone());
                let d = self.op("Sub", &[&x, &mean], vec![]);
                let sq = self.op("Mul", &[&d, &d], vec![]);
                let ms = self.op("ReduceMean", &[&sq], axes);
                let n = (side * side) as f32;
                let k = self.scalar(n / (n - 1.0));
                let var = self.op("Mul", &[&ms, &k], vec![]);
                let std = self.op("Sqrt", &[&var], vec![]);
                let eps = self.scalar(1e-5);
                let den = self.op("Add", &[&std, &eps], vec![]);
                self.op("Div", &[&d, &den], vec![])
            }
        }
    }

    /// A 2-D convolution with the weights (and bias, if any) of `prefix`; `pads` as
    /// [top, left, bottom, right].
    fn conv(&mut self, x: &str, prefix: &str, stride: i64, pads: [i64; 4]) -> Result<String, String> {
        let w = self.param(&format!("{prefix}.weight"))?;
        let k = self.params[&w].size();
        let mut inputs = vec![x.to_string(), w];
        if self.has(&format!("{prefix}.bias")) {
            inputs.push(self.param(&format!("{prefix}.bias"))?);
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let attrs = vec![ints("kernel_shape", &k[2..]), ints("strides", &[stride, stride]), ints("pads", &pads)];
        Ok(self.op("Conv", &inputs, attrs))
    }

    /// Batch normalization in evaluation mode (running statistics).
    fn bn(&mut self, x: &str, prefix: &str, eps: f32) -> Result<String, String> {
        let names = ["weight", "bias", "running_mean", "running_var"].map(|s| format!("{prefix}.{s}"));
        let mut inputs = vec![x.to_string()];
        for n in &names {
            inputs.push(self.param(n)?);
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        Ok(self.op("BatchNormalization", &inputs, vec![float("epsilon", eps)]))
    }

    /// `x W^T + b` (tch's linear layer).
    fn linear(&mut self, x: &str, prefix: &str) -> Result<String, String> {
        let w = self.param(&format!("{prefix}.weight"))?;
        let b = self.param(&format!("{prefix}.bias"))?;
        Ok(self.op("Gemm", &[x, &w, &b], vec![int("transB", 1)]))
    }

    fn relu(&mut self, x: &str) -> String {
        self.op("Relu", &[x], vec![])
    }

    fn max_pool(&mut self, x: &str, k: i64, s: i64, ceil: bool) -> String {
        let attrs = vec![ints("kernel_shape", &[k, k]), ints("strides", &[s, s]), int("ceil_mode", ceil as i64)];
        self.op("MaxPool", &[x], attrs)
    }

    fn reshape(&mut self, x: &str, shape: &[i64]) -> String {
        let s = self.int_init(&[shape.len() as i64], shape);
        self.op("Reshape", &[x, &s], vec![])
    }
}

/// Deep-Emotion: the STN warp (affine grid as a MatMul over a constant base grid, then
/// GridSample: bilinear, zero padding, align_corners = false), then the feature branch.
fn deep_emotion(g: &mut Graph, x: String) -> Result<String, String> {
    let s = DeepEmotion::INPUT;
    // Localization branch -> theta (N x 2 x 3).
    let h = g.conv(&x, "localization.0", 1, [0; 4])?;
    let h = g.max_pool(&h, 2, 2, false);
    let h = g.relu(&h);
    let h = g.conv(&h, "localization.3", 1, [0; 4])?;
    let h = g.max_pool(&h, 2, 2, false);
    let h = g.relu(&h);
    let h = g.reshape(&h, &[-1, 640]);
    let h = g.linear(&h, "fc_loc.0")?;
    let h = g.relu(&h);
    let h = g.linear(&h, "fc_loc.2")?;
    let theta = g.reshape(&h, &[-1, 2, 3]);
    // affine_grid (align_corners = false): base points ((2j + 1) / W - 1, (2i + 1) / H - 1, 1).
    let coord = |i: i64| (2 * i + 1) as f32 / s as f32 - 1.0;
    let base: Vec<f32> = (0..s).flat_map(|i| (0..s).flat_map(move |j| [coord(j), coord(i), 1.0])).collect();
    let base = g.float_init("stn.base_grid", &[1, s * s, 3], &base);
    let theta_t = g.op("Transpose", &[&theta], vec![ints("perm", &[0, 2, 1])]);
    let grid = g.op("MatMul", &[&base, &theta_t], vec![]); // N x HW x 2
    let grid = g.reshape(&grid, &[-1, s, s, 2]);
    let attrs = vec![string("mode", "bilinear"), string("padding_mode", "zeros"), int("align_corners", 0)];
    let warped = g.op("GridSample", &[&x, &grid], attrs);
    // Feature branch.
    let h = g.conv(&warped, "conv1", 1, [0; 4])?;
    let h = g.relu(&h);
    let h = g.conv(&h, "conv2", 1, [0; 4])?;
    let h = g.max_pool(&h, 2, 2, false);
    let h = g.relu(&h);
    let h = g.conv(&h, "conv3", 1, [0; 4])?;
    let h = g.relu(&h);
    let h = g.conv(&h, "conv4", 1, [0; 4])?;
    let h = g.bn(&h, "norm", 1e-5)?;
    let h = g.max_pool(&h, 2, 2, false);
    let h = g.relu(&h);
    let h = g.reshape(&h, &[-1, 810]);
    let h = g.linear(&h, "fc1")?;
    let h = g.relu(&h);
    g.linear(&h, "fc2")
}

/// MicroExpNet: TensorFlow SAME padding as explicit convolution pads, a ceil-mode second pool,
/// features flattened in H, W, C order.
fn microexpnet(g: &mut Graph, x: String) -> Result<String, String> {
    let h = g.conv(&x, "conv1", 2, [3, 3, 3, 3])?;
    let h = g.relu(&h);
    let h = g.max_pool(&h, 2, 2, false);
    let h = g.conv(&h, "conv2", 2, [1, 1, 2, 2])?;
    let h = g.relu(&h);
    let h = g.max_pool(&h, 2, 2, true);
    let h = g.op("Transpose", &[&h], vec![ints("perm", &[0, 2, 3, 1])]);
    let h = g.reshape(&h, &[-1, 32 * 6 * 6]);
    let h = g.linear(&h, "fc1")?;
    let h = g.relu(&h);
    g.linear(&h, "fc2")
}

/// One `BasicConv2d` (conv without bias, batch norm eps 0.001, ReLU) with kernel padding `pad`
/// ([ph, pw]) and `stride`.
fn basic(g: &mut Graph, x: &str, prefix: &str, pad: [i64; 2], stride: i64) -> Result<String, String> {
    let h = g.conv(x, &format!("{prefix}.conv"), stride, [pad[0], pad[1], pad[0], pad[1]])?;
    let h = g.bn(&h, &format!("{prefix}.bn"), 0.001)?;
    Ok(g.relu(&h))
}

/// A chain of `BasicConv2d` layers: (name, padding, stride).
fn chain(g: &mut Graph, x: &str, block: &str, layers: &[(&str, [i64; 2], i64)]) -> Result<String, String> {
    let mut h = x.to_string();
    for (name, pad, stride) in layers {
        h = basic(g, &h, &format!("{block}.{name}"), *pad, *stride)?;
    }
    Ok(h)
}

fn avg_pool(g: &mut Graph, x: &str) -> String {
    let attrs = vec![
        ints("kernel_shape", &[3, 3]),
        ints("strides", &[1, 1]),
        ints("pads", &[1, 1, 1, 1]),
        int("count_include_pad", 1),
    ];
    g.op("AveragePool", &[x], attrs)
}

fn concat(g: &mut Graph, parts: &[String]) -> String {
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    g.op("Concat", &parts, vec![int("axis", 1)])
}

/// Inception_v3 as in src/models/inception.rs: grayscale replicated to 3 channels, the stem,
/// the 11 mixed blocks, global average pool, the classifier.
fn inception(g: &mut Graph, x: String) -> Result<String, String> {
    const P0: [i64; 2] = [0, 0];
    const P1: [i64; 2] = [1, 1];
    const ROW: [i64; 2] = [0, 3];
    const COL: [i64; 2] = [3, 0];
    let mut h = concat(g, &[x.clone(), x.clone(), x]);
    for (name, pad, stride) in [("Conv2d_1a_3x3", P0, 2), ("Conv2d_2a_3x3", P0, 1), ("Conv2d_2b_3x3", P1, 1)] {
        h = basic(g, &h, name, pad, stride)?;
    }
    h = g.max_pool(&h, 3, 2, false);
    for (name, pad, stride) in [("Conv2d_3b_1x1", P0, 1), ("Conv2d_4a_3x3", P0, 1)] {
        h = basic(g, &h, name, pad, stride)?;
    }
    h = g.max_pool(&h, 3, 2, false);
    for b in ["Mixed_5b", "Mixed_5c", "Mixed_5d"] {
        let p = [
            chain(g, &h, b, &[("branch1x1", P0, 1)])?,
            chain(g, &h, b, &[("branch5x5_1", P0, 1), ("branch5x5_2", [2, 2], 1)])?,
            chain(g, &h, b, &[("branch3x3dbl_1", P0, 1), ("branch3x3dbl_2", P1, 1), ("branch3x3dbl_3", P1, 1)])?,
            {
                let a = avg_pool(g, &h);
                chain(g, &a, b, &[("branch_pool", P0, 1)])?
            },
        ];
        h = concat(g, &p);
    }
    let b = "Mixed_6a";
    let p = [
        chain(g, &h, b, &[("branch3x3", P0, 2)])?,
        chain(g, &h, b, &[("branch3x3dbl_1", P0, 1), ("branch3x3dbl_2", P1, 1), ("branch3x3dbl_3", P0, 2)])?,
        g.max_pool(&h, 3, 2, false),
    ];
    h = concat(g, &p);
    for b in ["Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"] {
        let p = [
            chain(g, &h, b, &[("branch1x1", P0, 1)])?,
            chain(g, &h, b, &[("branch7x7_1", P0, 1), ("branch7x7_2", ROW, 1), ("branch7x7_3", COL, 1)])?,
            chain(
                g,
                &h,
                b,
                &[
                    ("branch7x7dbl_1", P0, 1),
                    ("branch7x7dbl_2", COL, 1),
                    ("branch7x7dbl_3", ROW, 1),
                    ("branch7x7dbl_4", COL, 1),
                    ("branch7x7dbl_5", ROW, 1),
                ],
            )?,
            {
                let a = avg_pool(g, &h);
                chain(g, &a, b, &[("branch_pool", P0, 1)])?
            },
        ];
        h = concat(g, &p);
    }
    let b = "Mixed_7a";
    let p = [
        chain(g, &h, b, &[("branch3x3_1", P0, 1), ("branch3x3_2", P0, 2)])?,
        chain(
            g,
            &h,
            b,
            &[("branch7x7x3_1", P0, 1), ("branch7x7x3_2", ROW, 1), ("branch7x7x3_3", COL, 1), ("branch7x7x3_4", P0, 2)],
        )?,
        g.max_pool(&h, 3, 2, false),
    ];
    h = concat(g, &p);
    for b in ["Mixed_7b", "Mixed_7c"] {
        let s = chain(g, &h, b, &[("branch3x3_1", P0, 1)])?;
        let d = chain(g, &h, b, &[("branch3x3dbl_1", P0, 1), ("branch3x3dbl_2", P1, 1)])?;
        let s2 = [chain(g, &s, b, &[("branch3x3_2a", [0, 1], 1)])?, chain(g, &s, b, &[("branch3x3_2b", [1, 0], 1)])?];
        let d2 =
            [chain(g, &d, b, &[("branch3x3dbl_3a", [0, 1], 1)])?, chain(g, &d, b, &[("branch3x3dbl_3b", [1, 0], 1)])?];
        let p = [chain(g, &h, b, &[("branch1x1", P0, 1)])?, concat(g, &s2), concat(g, &d2), {
            let a = avg_pool(g, &h);
            chain(g, &a, b, &[("branch_pool", P0, 1)])?
        }];
        h = concat(g, &p);
    }
    let h = g.op("GlobalAveragePool", &[&h], vec![]);
    let h = g.op("Flatten", &[&h], vec![int("axis", 1)]);
    g.linear(&h, "fc")
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;
    use crate::export::check;
    use crate::models::Net;
    use fer_core::spec::Variant;

    /// Writes `model` as ONNX with a minimal sidecar and its reference, and runs
    /// scripts/check-export.py (onnxruntime) on it.
    fn check_in_onnxruntime(model: &Model, dir: &Path) -> String {
        let out = dir.join("m.onnx");
        std::fs::write(&out, export(model, &[]).unwrap()).unwrap();
        let side = serde_json::json!({"format": "onnx", "arch": model.spec.display(), "fixed_batch": null});
        std::fs::write(dir.join("m.onnx.json"), side.to_string()).unwrap();
        let r = check::reference(model, 3, 0.0).unwrap();
        std::fs::write(dir.join("ref.json"), serde_json::to_vec(&r).unwrap()).unwrap();
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let o = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("scripts/check-export.py"))
            .args([out.to_str().unwrap(), dir.join("ref.json").to_str().unwrap(), "--runs", "3"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{text}");
        text
    }

    #[test]
    fn a_strong_stn_warp_and_every_scaling_match_onnxruntime() {
        let dir = tempfile::tempdir().unwrap();
        tch::manual_seed(5);
        // A warp far from the identity: rotated, shifted and zoomed out, so GridSample reads
        // between pixels and outside the image (zero padding).
        let de = Model::new(&ModelSpec::deep_emotion(), 7, tch::Device::Cpu);
        let named: std::collections::HashMap<String, Tensor> = de.named_tensors().into_iter().collect();
        tch::no_grad(|| {
            let w = named["fc_loc.2.weight"].shallow_clone();
            w.shallow_clone().copy_(&(Tensor::randn(w.size(), (Kind::Float, w.device())) * 0.01));
            let b = named["fc_loc.2.bias"].shallow_clone();
            b.shallow_clone().copy_(&Tensor::from_slice(&[1.1f32, 0.4, 0.15, -0.3, 1.2, -0.1]));
        });
        let Net::DeepEmotion(n) = &de.net else { unreachable!() };
        let x = de.preprocess(&check::inputs(&de, 2));
        let moved = tch::no_grad(|| (n.warp(&x) - &x).abs().max().double_value(&[]));
        assert!(moved > 0.5, "the warp barely moves the image: {moved}");
        check_in_onnxruntime(&de, dir.path());
        // MicroExpNet raw (published) and standardized; Deep-Emotion centered above.
        for norm in [InputNorm::Raw, InputNorm::Standardize] {
            let spec = ModelSpec::MicroExpNet { variant: Variant::S, dropout: 0.5, input_norm: norm };
            check_in_onnxruntime(&Model::new(&spec, 8, tch::Device::Cpu), dir.path());
        }
    }
}
