//! The torch-free FLOPs counter (`fer_core::arch::flops`) against the real models: every layer it
//! counts is a parameter of the model with the same name and shape, and nothing is left out;
//! for Deep-Emotion and MicroExpNet the first linear layer's width also pins every counted grid.

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tch::{Device, Kind, Tensor};

    use crate::models::Model;
    use fer_core::arch::flops::count;
    use fer_core::arch::Variant;
    use fer_core::spec::ModelSpec;

    /// The counter's parameters of `spec`'s network, by name, with their shapes.
    fn counted(spec: &ModelSpec, classes: u32) -> BTreeMap<String, Vec<i64>> {
        let mut out = BTreeMap::new();
        for l in count(spec.network(), classes).layers {
            if l.weight.is_empty() {
                continue;
            }
            out.insert(format!("{}.weight", l.name), l.weight.iter().map(|&d| d as i64).collect());
            if l.bias {
                out.insert(format!("{}.bias", l.name), vec![l.weight[0] as i64]);
            }
        }
        out
    }

    fn real(spec: &ModelSpec, classes: u32) -> (Model, BTreeMap<String, Vec<i64>>) {
        let m = Model::new(spec, classes as usize, Device::Cpu);
        let shapes = m.trainable().into_iter().map(|(n, t)| (n, t.size())).collect();
        (m, shapes)
    }

    #[test]
    fn every_counted_layer_is_the_model_s_with_its_shape() {
        let specs = [
            ModelSpec::deep_emotion(),
            ModelSpec::microexpnet(Variant::M),
            ModelSpec::microexpnet(Variant::S),
            ModelSpec::microexpnet(Variant::Xs),
            ModelSpec::microexpnet(Variant::Xxs),
            ModelSpec::inception_v3(75),
        ];
        for spec in specs {
            for classes in [7, 8] {
                let (model, shapes) = real(&spec, classes);
                assert_eq!(counted(&spec, classes), shapes, "{}", spec.display());
                let c = count(spec.network(), classes);
                assert_eq!(c.params() as i64, model.trainable_count(), "{}", spec.display());
                // The counted output is the model's.
                let side = spec.input_size() as i64;
                let y = tch::no_grad(|| {
                    model.forward_t(&Tensor::zeros([2, 1, side, side], (Kind::Float, Device::Cpu)), false)
                });
                assert_eq!(y.size(), [2, c.layers.last().unwrap().output[0] as i64], "{}", spec.display());
            }
        }
    }
}
