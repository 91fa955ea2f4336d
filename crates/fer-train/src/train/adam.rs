//! Adam whose state (step, first and second moments) is owned as tensors, so it can be saved
//! and restored exactly; the update is PyTorch's single-tensor Adam (L2 weight decay).

use tch::Tensor;

use fer_core::spec::AdamSpec;

/// Adam over named parameters.
pub struct Adam {
    pub lr: f64,
    pub cfg: AdamSpec,
    /// Steps taken.
    pub step: i64,
    params: Vec<(String, Tensor)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
}

impl Adam {
    pub fn new(params: Vec<(String, Tensor)>, lr: f64, cfg: AdamSpec) -> Adam {
        let m = params.iter().map(|(_, p)| p.zeros_like()).collect();
        let v = params.iter().map(|(_, p)| p.zeros_like()).collect();
        Adam { lr, cfg, step: 0, params, m, v }
    }

    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    /// One update from the current gradients.
    pub fn step(&mut self) {
        self.step += 1;
        let t = self.step as i32;
        let AdamSpec { beta1, beta2, eps, weight_decay } = self.cfg;
        let bias1 = 1.0 - beta1.powi(t);
        let bias2_sqrt = (1.0 - beta2.powi(t)).sqrt();
        let step_size = self.lr / bias1;
        tch::no_grad(|| {
            for ((_, p), (m, v)) in self.params.iter_mut().zip(self.m.iter_mut().zip(self.v.iter_mut())) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if weight_decay != 0.0 { &g + &*p * weight_decay } else { g };
                let _ = m.lerp_(&g, 1.0 - beta1);
                let _ = v.g_mul_scalar_(beta2);
                let _ = v.addcmul_(&g, &(&g * (1.0 - beta2)));
                let denom = v.sqrt() / bias2_sqrt + eps;
                let _ = p.addcdiv_(&(&*m * -step_size), &denom);
            }
        });
    }

    /// The state as named tensors (`adam.m.<param>`, `adam.v.<param>`) plus the step.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, (name, _)) in self.params.iter().enumerate() {
            out.push((format!("adam.m.{name}"), self.m[i].shallow_clone()));
            out.push((format!("adam.v.{name}"), self.v[i].shallow_clone()));
        }
        out.push(("adam.step".into(), Tensor::from_slice(&[self.step])));
        out
    }

    /// Restores a state saved by [`Adam::state`].
    pub fn load_state(&mut self, get: impl Fn(&str) -> Option<Tensor>) -> Result<(), String> {
        let step = get("adam.step").ok_or("missing `adam.step`")?;
        self.step = step.int64_value(&[0]);
        tch::no_grad(|| {
            for (i, (name, _)) in self.params.iter().enumerate() {
                for (slot, key) in [(&mut self.m[i], "m"), (&mut self.v[i], "v")] {
                    let k = format!("adam.{key}.{name}");
                    let t = get(&k).ok_or_else(|| format!("missing `{k}`"))?;
                    if t.size() != slot.size() {
                        return Err(format!("`{k}` has shape {:?}, expected {:?}", t.size(), slot.size()));
                    }
                    slot.copy_(&t.to_device(slot.device()));
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn matches_the_adam_formula_on_one_step() {
        // One parameter, gradient 2: after step 1, m_hat = g and v_hat = g^2, so the update is
        // lr * g / (|g| + eps) = lr (up to eps).
        let p = Tensor::from_slice(&[1.0f32]).set_requires_grad(true);
        let cfg = AdamSpec { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
        let mut adam = Adam::new(vec![("w".into(), p.shallow_clone())], 0.1, cfg);
        let loss = (&p * 2.0).sum(Kind::Float);
        adam.zero_grad();
        loss.backward();
        adam.step();
        let v = f64::try_from(&p).unwrap();
        assert!((v - 0.9).abs() < 1e-6, "{v}");
        let st = adam.state();
        assert_eq!(st.len(), 3);
        let mut b = Adam::new(vec![("w".into(), Tensor::zeros([1], (Kind::Float, Device::Cpu)))], 0.1, cfg);
        b.load_state(|k| st.iter().find(|(n, _)| n == k).map(|(_, t)| t.shallow_clone())).unwrap();
        assert_eq!(b.step, 1);
        // The moments survive: m = (1 - beta1) g, v = (1 - beta2) g^2, restored exactly.
        let m = b.state().into_iter().find(|(n, _)| n == "adam.m.w").unwrap().1;
        let v = b.state().into_iter().find(|(n, _)| n == "adam.v.w").unwrap().1;
        assert_eq!(f32::try_from(&m).unwrap(), 0.1f32 * 2.0);
        assert!((f64::try_from(&v).unwrap() - 0.001 * 4.0).abs() < 1e-9);
        assert_eq!(bytes(&m), bytes(&adam.m[0]));
        assert_eq!(bytes(&v), bytes(&adam.v[0]));
    }

    fn bytes(t: &Tensor) -> Vec<u8> {
        crate::tensor_file::tensor_bytes(t)
    }

    /// Two parameters, a least-squares loss on fixed data.
    fn params(w: &[f32], b: &[f32]) -> Vec<(String, Tensor)> {
        vec![
            ("w".into(), Tensor::from_slice(w).reshape([2, 3]).set_requires_grad(true)),
            ("b".into(), Tensor::from_slice(b).set_requires_grad(true)),
        ]
    }

    fn steps(adam: &mut Adam, p: &[(String, Tensor)], n: usize) {
        let x = Tensor::from_slice(&[0.5f32, -1.0, 2.0, 0.25]).reshape([2, 2]);
        let y = Tensor::from_slice(&[1.0f32, 0.0, -1.0, 2.0, 0.5, 0.0]).reshape([2, 3]);
        for _ in 0..n {
            let loss = (x.matmul(&p[0].1) + &p[1].1 - &y).square().sum(Kind::Float);
            adam.zero_grad();
            loss.backward();
            adam.step();
        }
    }

    #[test]
    fn state_saved_to_a_file_resumes_bit_for_bit() {
        let cfg = AdamSpec { beta1: 0.8, beta2: 0.99, eps: 1e-6, weight_decay: 0.01 };
        let (w0, b0) = ([0.1f32, -0.2, 0.3, 0.4, -0.5, 0.6], [0.0f32, 0.1, -0.1]);
        // Uninterrupted: 5 steps.
        let whole = params(&w0, &b0);
        let mut a = Adam::new(whole.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect(), 0.05, cfg);
        steps(&mut a, &whole, 5);
        // Interrupted after 2 steps: parameters and state go through a tensor file.
        let first = params(&w0, &b0);
        let mut b = Adam::new(first.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect(), 0.05, cfg);
        steps(&mut b, &first, 2);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.safetensors");
        let mut saved: Vec<(String, Tensor)> = first.iter().map(|(n, t)| (format!("p.{n}"), t.detach())).collect();
        saved.extend(b.state());
        crate::tensor_file::write(&path, &saved, &Default::default()).unwrap();
        let f = crate::tensor_file::read(&path).unwrap();
        let get = |k: &str| f.get(k).map(|t| t.shallow_clone());
        let vals = |k: &str| Vec::<f32>::try_from(&get(k).unwrap().flatten(0, -1)).unwrap();
        let resumed = params(&vals("p.w"), &vals("p.b"));
        let mut c = Adam::new(resumed.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect(), 0.05, cfg);
        c.load_state(get).unwrap();
        assert_eq!(c.step, 2);
        for ((n, t), (n2, t2)) in b.state().iter().zip(c.state().iter()) {
            assert_eq!((n, bytes(t)), (n2, bytes(t2)), "restored exactly");
        }
        assert!(c.state().iter().filter(|(n, _)| n != "adam.step").all(|(_, t)| bytes(t).iter().any(|&x| x != 0)));
        steps(&mut c, &resumed, 3);
        assert_eq!(c.step, 5);
        for ((n, t), (_, t2)) in whole.iter().zip(&resumed) {
            assert_eq!(bytes(t), bytes(t2), "parameter `{n}` after the resumed steps");
        }
        for ((n, t), (_, t2)) in a.state().iter().zip(c.state().iter()) {
            assert_eq!(bytes(t), bytes(t2), "`{n}` after the resumed steps");
        }
        // A state of other shapes is refused.
        let mut d = Adam::new(vec![("w".into(), Tensor::zeros([3], (Kind::Float, Device::Cpu)))], 0.05, cfg);
        let e = d.load_state(|k| c.state().into_iter().find(|(n, _)| n == k).map(|(_, t)| t)).unwrap_err();
        assert!(e.contains("has shape [2, 3], expected [3]"), "{e}");
    }
}
