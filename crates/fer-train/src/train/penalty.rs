//! Deep-Emotion's L2 penalty (Minaee & Abdolrashidi 2019): `l2 * (|fc1.weight|^2 + |fc2.weight|^2)`,
//! the squared Frobenius norms of the weights (not the biases) of the last two linear layers,
//! added to the loss (so it passes through Adam, unlike decoupled weight decay).

use tch::Tensor;

use crate::models::Model;

/// The penalised parameters: the last two linear layers' weights (Deep-Emotion's `fc1`, `fc2`).
pub(super) const LAYERS: [&str; 2] = ["fc1.weight", "fc2.weight"];

/// The penalty term of `model` at weight `l2`, or `None` when `l2` is 0.
pub(super) fn l2_term(model: &Model, l2: f64) -> Option<Tensor> {
    if l2 == 0.0 {
        return None;
    }
    let vars = model.vs.variables();
    let terms: Vec<Tensor> = LAYERS.iter().filter_map(|n| vars.get(*n)).map(|w| (w * w).sum(w.kind())).collect();
    let total = terms.into_iter().reduce(|a, b| a + b)?;
    Some(total * l2)
}

/// `loss` plus the penalty of `model` at weight `l2`.
pub(super) fn with_l2(model: &Model, loss: Tensor, l2: f64) -> Tensor {
    match l2_term(model, l2) {
        Some(p) => loss + p,
        None => loss,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fer_core::spec::ModelSpec;
    use tch::{Device, Kind};

    #[test]
    fn penalises_the_squared_weights_of_the_last_two_linear_layers() {
        let m = Model::new(&ModelSpec::deep_emotion(), 7, Device::Cpu);
        assert!(l2_term(&m, 0.0).is_none());
        let vars = m.vs.variables();
        let by_hand: f64 = LAYERS
            .iter()
            .map(|n| Vec::<f64>::try_from(vars[*n].to_kind(Kind::Double).flatten(0, -1)).unwrap())
            .map(|v| v.iter().map(|x| x * x).sum::<f64>())
            .sum();
        let got = l2_term(&m, 0.01).unwrap().double_value(&[]);
        assert!((got - 0.01 * by_hand).abs() < 1e-6 * by_hand.max(1.0), "{got} vs {}", 0.01 * by_hand);
        // Its gradient reaches those weights only: 2 * l2 * w.
        let p = l2_term(&m, 0.5).unwrap();
        p.backward();
        for (name, t) in m.trainable() {
            let g = t.grad();
            if LAYERS.contains(&name.as_str()) {
                assert!(g.allclose(&(&t * 1.0), 1e-5, 1e-6, false), "{name}");
            } else {
                assert!(!g.defined() || g.abs().max().double_value(&[]) == 0.0, "{name} got a gradient");
            }
        }
    }
}
