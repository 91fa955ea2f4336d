//! The JSON sidecar written beside an export: what the graph expects (input size, channels,
//! value range, layout) and what a user does to a face before feeding it.

use serde::Serialize;

use fer_core::spec::{InputNorm, ModelSpec};

/// Version of the sidecar format.
pub const SIDECAR_FORMAT: u32 = 1;

/// `<export>.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Sidecar {
    pub format_version: u32,
    /// `onnx` or `torchscript`.
    pub format: String,
    /// The export file's name.
    pub file: String,
    /// The train entry exported, `train/<hash16>`.
    pub entry: String,
    /// Model name in the pipeline, architecture, data set, seed, fold.
    pub model: String,
    pub arch: String,
    pub dataset: String,
    pub seed: Option<u64>,
    pub fold: Option<u32>,
    pub classes: i64,
    pub input: InputDoc,
    pub output: OutputDoc,
    /// The steps from a grayscale face to the graph's input, in order.
    pub preprocessing: Vec<String>,
    /// ONNX opset, when the format is ONNX.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opset: Option<i64>,
    /// The batch the TorchScript module was traced at; `null` when any batch works.
    pub fixed_batch: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputDoc {
    pub name: String,
    /// `[N, 1, S, S]`, N free.
    pub shape: [serde_json::Value; 4],
    pub dtype: &'static str,
    pub layout: &'static str,
    pub channels: u32,
    /// Raw grey levels: 0 black, 255 white.
    pub range: [f32; 2],
    /// The scaling the graph applies itself (`raw`, `centered`, `standardize`).
    pub scaling_in_graph: &'static str,
    pub scaling_formula: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputDoc {
    pub name: String,
    pub shape: [serde_json::Value; 2],
    /// Unnormalised class scores; softmax gives probabilities.
    pub kind: &'static str,
}

/// What the graph of `spec` expects, trained on faces of `data_side` pixels.
pub fn describe(
    spec: &ModelSpec,
    classes: i64,
    data_side: Option<u32>,
    input: &str,
    output: &str,
) -> (InputDoc, OutputDoc, Vec<String>) {
    let side = spec.input_size();
    let (scaling, formula) = match spec.input_norm() {
        InputNorm::Raw => ("raw", "x"),
        InputNorm::Centered => ("centered", "(x / 255 - 0.5) / 0.5"),
        InputNorm::Standardize => ("standardize", "(x - mean(x)) / (std(x, unbiased) + 1e-5), per image"),
    };
    let mut steps = vec!["convert the face to one grey channel (uint8 levels 0..255)".to_string()];
    let crop = matches!(spec, ModelSpec::MicroExpNet { .. }) && data_side == Some(crate::models::crops::FACE as u32);
    if crop {
        steps.push(
            "resize the face to 256 x 256, take the window rows 32..256, columns 32..256 (224 x 224), resize it to \
             84 x 84 (bilinear, as cv2.resize INTER_LINEAR) and round to whole grey levels: the test-time window of \
             MicroExpNet's published recipe, which this model was trained with"
                .into(),
        );
    } else {
        steps.push(format!("resize the face to {side} x {side} (bilinear)"));
    }
    steps.push(format!(
        "feed it as float32, shape [N, 1, {side}, {side}], values 0..255; the graph applies the scaling `{formula}` itself"
    ));
    let input = InputDoc {
        name: input.into(),
        shape: ["N".into(), 1.into(), side.into(), side.into()],
        dtype: "float32",
        layout: "NCHW",
        channels: 1,
        range: [0.0, 255.0],
        scaling_in_graph: scaling,
        scaling_formula: formula,
    };
    let output = OutputDoc { name: output.into(), shape: ["N".into(), classes.into()], kind: "logits" };
    (input, output, steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fer_core::spec::Variant;

    #[test]
    fn the_sidecar_says_size_scaling_and_the_recipe_window() {
        let (input, output, steps) = describe(&ModelSpec::deep_emotion(), 7, Some(48), "faces", "logits");
        assert_eq!(serde_json::json!(input.shape), serde_json::json!(["N", 1, 48, 48]));
        assert_eq!(input.scaling_in_graph, "centered");
        assert_eq!(serde_json::json!(output.shape), serde_json::json!(["N", 7]));
        assert!(steps.iter().any(|s| s.contains("resize the face to 48 x 48")), "{steps:?}");
        // MicroExpNet trained on the recipe's 256 px faces: the test-time window, raw levels.
        let (input, _, steps) = describe(&ModelSpec::microexpnet(Variant::Xxs), 8, Some(256), "faces", "logits");
        assert_eq!(input.scaling_in_graph, "raw");
        assert!(steps.iter().any(|s| s.contains("rows 32..256, columns 32..256")), "{steps:?}");
        // Trained on 84 px faces: a plain resize.
        let (_, _, steps) = describe(&ModelSpec::microexpnet(Variant::Xxs), 8, Some(84), "faces", "logits");
        assert!(
            !steps.iter().any(|s| s.contains("32..256")) && steps.iter().any(|s| s.contains("84 x 84")),
            "{steps:?}"
        );
    }
}
