//! `linear_relu` is `linear` then `relu` fused: the same value and the same gradients, bit for
//! bit, on the shapes where the product takes each of its paths (one or two rows, fewer rows
//! than outputs, more), with and without bias, for 2-D and 3-D inputs, and for an upstream
//! gradient with negative entries (so the masked zeros' signs are compared too).

use gradwork_autodiff::{Graph, Var};
use gradwork_tensor::{Rng, Tensor};

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec().iter().map(|v| v.to_bits()).collect()
}

/// The output and the gradients of x, w and b, for the fused op or the two separate ones.
fn run(x: &Tensor, w: &Tensor, b: Option<&Tensor>, g: &Tensor, fused: bool) -> Vec<Vec<u32>> {
    let graph = Graph::new();
    let (xv, wv) = (graph.leaf(x.clone()), graph.leaf(w.clone()));
    let bv = b.map(|b| graph.leaf(b.clone()));
    let y: Var = if fused {
        xv.linear_relu(&wv, bv.as_ref())
    } else {
        xv.linear(&wv, bv.as_ref()).relu()
    };
    let grads = graph.backward_with(&y, g.clone()).unwrap();
    let mut out = vec![bits(y.value()), bits(grads.get(&xv).unwrap())];
    out.push(bits(grads.get(&wv).unwrap()));
    if let Some(bv) = &bv {
        out.push(bits(grads.get(bv).unwrap()));
    }
    out
}

#[test]
fn fused_linear_relu_has_the_bits_of_linear_then_relu() {
    let mut rng = Rng::seed_from(4);
    let shapes: [(&[usize], usize, usize); 6] = [
        (&[1, 7], 7, 5),
        (&[2, 30], 30, 17),
        (&[32, 300], 300, 256),
        (&[3, 11, 40], 40, 20),
        (&[130, 64], 64, 30),
        (&[20, 9], 9, 1030),
    ];
    for (x_shape, fan_in, fan_out) in shapes {
        let x = Tensor::rand_normal(x_shape, 0.0, 1.0, &mut rng);
        let w = Tensor::rand_normal(&[fan_out, fan_in], 0.0, 0.3, &mut rng);
        let b = Tensor::rand_normal(&[fan_out], 0.0, 0.5, &mut rng);
        let mut y_shape = x_shape.to_vec();
        *y_shape.last_mut().unwrap() = fan_out;
        let g = Tensor::rand_normal(&y_shape, 0.0, 1.0, &mut rng);
        for bias in [Some(&b), None] {
            let separate = run(&x, &w, bias, &g, false);
            let fused = run(&x, &w, bias, &g, true);
            for (i, what) in ["value", "dx", "dw", "db"]
                .iter()
                .enumerate()
                .take(fused.len())
            {
                assert!(
                    fused[i] == separate[i],
                    "{x_shape:?} -> {fan_out}, bias {}: {what} differs",
                    bias.is_some()
                );
            }
        }
    }
}
