//! The distillation loss of the released MicroExpNet models, with Hinton's T^2 factor as an option:
//! L = (1 - w) CE(y, softmax(z_s)) + w [T^2] CE(softmax(z_t / T), softmax(z_s / T)).
//! `z_t` is the teacher's logits on the item's image (the same row for each of its 8 crops, as
//! the public code feeds them); both terms are means over the batch, as `tf.reduce_mean` takes.

use tch::{Kind, Tensor};

use fer_core::spec::DistillSpec;

/// Mean loss over the batch; `teacher` holds the teacher's logits for the same images.
pub fn kd_loss(student: &Tensor, teacher: &Tensor, labels: &Tensor, spec: &DistillSpec) -> Tensor {
    let (hard, soft) = kd_terms(student, teacher, labels, spec);
    kd_combine(&hard, &soft, spec)
}

/// The loss from its two terms: `(1 - w) hard + w soft`.
pub(super) fn kd_combine(hard: &Tensor, soft: &Tensor, spec: &DistillSpec) -> Tensor {
    hard * (1.0 - spec.weight) + soft * spec.weight
}

/// The loss's two terms, unweighted: the hard CE with the labels and the soft CE with the
/// teacher (times T^2 when `t2`); what TensorBoard shows per epoch for a student.
pub fn kd_terms(student: &Tensor, teacher: &Tensor, labels: &Tensor, spec: &DistillSpec) -> (Tensor, Tensor) {
    let t = spec.temperature;
    let hard = student.cross_entropy_for_logits(labels);
    let soft_targets = (teacher / t).softmax(-1, Kind::Float);
    let log_q = (student / t).log_softmax(-1, Kind::Float);
    let soft = -(soft_targets * log_q).sum_dim_intlist(-1, false, Kind::Float).mean(Kind::Float);
    let soft = if spec.t2 { soft * (t * t) } else { soft };
    (hard, soft)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn softmax(z: &[f64]) -> Vec<f64> {
        let m = z.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    }

    /// The loss written out by hand for one example.
    fn by_hand(zs: &[f64], zt: &[f64], y: usize, t: f64, w: f64, t2: bool) -> f64 {
        let hard = -softmax(zs)[y].ln();
        let p = softmax(&zt.iter().map(|v| v / t).collect::<Vec<_>>());
        let q = softmax(&zs.iter().map(|v| v / t).collect::<Vec<_>>());
        let soft: f64 = -p.iter().zip(&q).map(|(a, b)| a * b.ln()).sum::<f64>();
        (1.0 - w) * hard + w * soft * if t2 { t * t } else { 1.0 }
    }

    #[test]
    fn matches_hand_computed_values_in_both_forms() {
        let zs = [1.0, 2.0, 0.5];
        let zt = [3.0, -1.0, 0.0];
        let s = Tensor::from_slice(&zs.map(|v| v as f32)).reshape([1, 3]);
        let t = Tensor::from_slice(&zt.map(|v| v as f32)).reshape([1, 3]);
        let y = Tensor::from_slice(&[1i64]);
        for (temp, w, t2) in [(8.0, 0.5, false), (8.0, 0.5, true), (4.0, 0.3, false), (1.0, 0.0, false)] {
            let spec = DistillSpec { temperature: temp, weight: w, t2 };
            let got = kd_loss(&s, &t, &y, &spec).double_value(&[]);
            let want = by_hand(&zs, &zt, 1, temp, w, t2);
            assert!((got - want).abs() < 1e-5, "T={temp} w={w} t2={t2}: {got} vs {want}");
        }
        let spec = DistillSpec { temperature: 4.0, weight: 0.3, t2: true };
        let (hard, soft) = kd_terms(&s, &t, &y, &spec);
        assert!((hard.double_value(&[]) - by_hand(&zs, &zt, 1, 4.0, 0.0, true)).abs() < 1e-5);
        assert!((soft.double_value(&[]) - by_hand(&zs, &zt, 1, 4.0, 1.0, true)).abs() < 1e-5);
        // w = 0 is plain cross-entropy.
        let ce = s.cross_entropy_for_logits(&y).double_value(&[]);
        let plain = kd_loss(&s, &t, &y, &DistillSpec { temperature: 8.0, weight: 0.0, t2: false }).double_value(&[]);
        assert!((ce - plain).abs() < 1e-7);
    }

    #[test]
    fn averages_over_the_batch() {
        let s = Tensor::from_slice(&[1.0f32, 2.0, 0.5, 0.0, 0.0, 1.0]).reshape([2, 3]);
        let t = Tensor::from_slice(&[3.0f32, -1.0, 0.0, 1.0, 1.0, 1.0]).reshape([2, 3]);
        let y = Tensor::from_slice(&[1i64, 2]);
        let spec = DistillSpec { temperature: 2.0, weight: 0.5, t2: true };
        let got = kd_loss(&s, &t, &y, &spec).double_value(&[]);
        let want = (by_hand(&[1.0, 2.0, 0.5], &[3.0, -1.0, 0.0], 1, 2.0, 0.5, true)
            + by_hand(&[0.0, 0.0, 1.0], &[1.0, 1.0, 1.0], 2, 2.0, 0.5, true))
            / 2.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}
