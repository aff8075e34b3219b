//! The per-block bodies of the convolution kernels: each handles the images of one fixed block
//! (see [`crate::conv::CONV_BATCH_BLOCK`]) on one thread.
//!
//! Several images are lowered side by side into one column matrix `[col_rows, s * P]` and
//! multiplied in one sgemm, instead of one sgemm per image. sgemm packs both operands on every
//! call, so per image the weight (or the output gradient) was re-packed for a product of only
//! `P` columns (121 for the MNIST CNN's second layer, one column past a multiple of the kernel's
//! width); a product `s` times wider packs the weight once per `s` images and wastes no edge.
//! How many images share a product, [`images_per_gemm`], depends only on the geometry, never on
//! the thread count, so the results are the same on any number of threads; and each output
//! element is still one sgemm dot product over the same operands, so the bits are the same as
//! one product per image. Measured on the MNIST CNN's second layer (batch 64, one thread): the
//! forward pass 4.55 -> 4.0 ms, the input gradient 3.94 -> 3.65 ms.
//!
//! Where the packed AVX-512 kernel runs and there is no padding, the forward pass and the weight
//! gradient do not write the column matrix at all: sgemm reads it in place through offsets
//! ([`crate::im2col::gather_offsets`], an implicit im2col), the same elements in the same order.
//! MNIST CNN second layer: forward 5.0 -> 3.3 ms, weight gradient 5.4 -> 3.5 ms.

use crate::im2col::{
    as_lane_offsets, col2im, gather_offsets, gemm, gemm_gathered, im2col, ConvGeometry, MatRef,
};
use crate::tensor::Elem;

/// The largest column matrix (in elements) built for one product: 2 MiB of f32, so a block's
/// working set stays in the outer caches and large images fall back to one image per product.
const COL_BUDGET: usize = 1 << 19;

/// How many images share one column matrix and one sgemm: as many as fit in [`COL_BUDGET`],
/// between 1 and [`crate::conv::CONV_BATCH_BLOCK`]. A function of the geometry alone.
pub(crate) fn images_per_gemm(g: &ConvGeometry) -> usize {
    let per_image = g.col_rows().saturating_mul(g.out_plane()).max(1);
    (COL_BUDGET / per_image).clamp(1, crate::conv::CONV_BATCH_BLOCK)
}

/// The input channels of group `gi` of image `image` in the contiguous input `x`.
fn group_input<'a>(g: &ConvGeometry, x: &'a [Elem], image: usize, gi: usize) -> &'a [Elem] {
    let start = image * g.in_image() + gi * g.c_group() * g.h * g.w;
    &x[start..start + g.c_group() * g.h * g.w]
}

/// The input from the channels of group `gi` of image `image` to the end of `x`: what the
/// gathered offsets of several images are relative to.
fn group_input_onwards<'a>(g: &ConvGeometry, x: &'a [Elem], image: usize, gi: usize) -> &'a [Elem] {
    &x[image * g.in_image() + gi * g.c_group() * g.h * g.w..]
}

/// Lowers images `first..first + count` (group `gi`) side by side into `col`, `[col_rows,
/// count * P]`: image `i` fills columns `i * P..(i + 1) * P`.
fn lower_images(
    g: &ConvGeometry,
    x: &[Elem],
    first: usize,
    count: usize,
    gi: usize,
    col: &mut [Elem],
) {
    let p = g.out_plane();
    if g.col_rows() == 0 {
        return; // no input channels: the column matrix is empty
    }
    for i in 0..count {
        im2col(
            g,
            group_input(g, x, first + i, gi),
            &mut col[i * p..],
            count * p,
        );
    }
}

/// Copies the output-gradient rows of group `gi` of images `first..first + count` from `dy`
/// (`[N, O, P]`) side by side into `out`, `[o_group, count * P]`.
fn gather_rows(
    g: &ConvGeometry,
    dy: &[Elem],
    first: usize,
    count: usize,
    gi: usize,
    out: &mut [Elem],
) {
    let (og, p) = (g.o_group(), g.out_plane());
    let width = count * p;
    for i in 0..count {
        let image = &dy[(first + i) * g.out_image() + gi * og * p..];
        for o in 0..og {
            out[o * width + i * p..][..p].copy_from_slice(&image[o * p..(o + 1) * p]);
        }
    }
}

/// Forward pass of the images of one block: `block` holds their outputs `[images, O, P]`, the
/// first of which is image `first` of `x`. Adds `bias` to every output channel.
pub(crate) fn forward(
    g: &ConvGeometry,
    x: &[Elem],
    w: &[Elem],
    bias: Option<&[Elem]>,
    first: usize,
    block: &mut [Elem],
) {
    let (og, k, p) = (g.o_group(), g.col_rows(), g.out_plane());
    let images = block.len() / g.out_image().max(1);
    if g.is_pointwise() {
        // The image already is the column matrix: multiply it in place, one image at a time.
        for (i, y) in block.chunks_mut(g.out_image()).enumerate() {
            for gi in 0..g.groups {
                let cols = MatRef::rows(group_input(g, x, first + i, gi), p);
                let w_g = MatRef::rows(&w[gi * og * k..], k);
                gemm(og, k, p, w_g, cols, 0.0, &mut y[gi * og * p..]);
            }
            if let Some(bias) = bias {
                for (row, &b) in y.chunks_mut(p.max(1)).zip(bias) {
                    row.iter_mut().for_each(|v| *v += b);
                }
            }
        }
        return;
    }
    forward_planes(g, x, w, first, images, |i, o, plane| {
        let dst = &mut block[(i * g.o + o) * p..][..p];
        match bias {
            Some(bias) => {
                let b = bias[o];
                dst.iter_mut()
                    .zip(plane.iter())
                    .for_each(|(d, &v)| *d = v + b);
            }
            None => dst.copy_from_slice(plane),
        }
    });
}

/// The products of [`forward`] for a kernel that is not pointwise, without the bias: hands
/// `sink(i, o, plane)` each output plane (image `first + i`, channel `o`) as the product leaves
/// it, in a scratch buffer the sink may modify. The fused convolution and pooling pools the
/// planes there, while they are in the cache, instead of copying them out.
pub(crate) fn forward_planes(
    g: &ConvGeometry,
    x: &[Elem],
    w: &[Elem],
    first: usize,
    images: usize,
    mut sink: impl FnMut(usize, usize, &mut [Elem]),
) {
    let (og, k, p) = (g.o_group(), g.col_rows(), g.out_plane());
    let s = images_per_gemm(g);
    // Read the column matrix straight from the input where the packed kernel can.
    let gathered =
        gather_offsets(g, s).map(|(taps, positions)| (taps, as_lane_offsets(&positions)));
    let mut col = Vec::new();
    let mut product = crate::buffer::scratch(og * s * p);
    for sub in (0..images).step_by(s) {
        let count = s.min(images - sub);
        let width = count * p;
        for gi in 0..g.groups {
            let w_g = MatRef::rows(&w[gi * og * k..], k);
            let in_place = gathered.as_ref().is_some_and(|(taps, positions)| {
                let x_g = &group_input_onwards(g, x, first + sub, gi);
                let offsets = (&taps[..], &positions[..width]);
                gemm_gathered(og, w_g, x_g, offsets, 0.0, &mut product)
            });
            if !in_place {
                if col.is_empty() {
                    col = crate::buffer::scratch(k * s * p);
                }
                lower_images(g, x, first + sub, count, gi, &mut col);
                let cols = MatRef::rows(&col, width);
                gemm(og, k, width, w_g, cols, 0.0, &mut product);
            }
            // The product's rows hold each image's channels side by side.
            for i in 0..count {
                for o in 0..og {
                    let plane = &mut product[o * width + i * p..][..p];
                    sink(sub + i, gi * og + o, plane);
                }
            }
        }
    }
    crate::buffer::recycle(col);
    crate::buffer::recycle(product);
}

/// Input gradient of the images of one block: `block` (zeroed by the caller) receives
/// `[images, C, H, W]` for images `first..` of `dy`.
pub(crate) fn backward_input(
    g: &ConvGeometry,
    dy: &[Elem],
    w: &[Elem],
    first: usize,
    block: &mut [Elem],
) {
    let (og, k, p) = (g.o_group(), g.col_rows(), g.out_plane());
    let group_len = g.c_group() * g.h * g.w;
    let images = block.len() / g.in_image();
    if g.is_pointwise() {
        for (i, dx_image) in block.chunks_mut(g.in_image()).enumerate() {
            let dy_image = &dy[(first + i) * g.out_image()..];
            for gi in 0..g.groups {
                let w_t = MatRef::transposed(&w[gi * og * k..], k);
                let dy_g = MatRef::rows(&dy_image[gi * og * p..], p);
                gemm(k, og, p, w_t, dy_g, 0.0, &mut dx_image[gi * group_len..]);
            }
        }
        return;
    }
    let s = images_per_gemm(g);
    let mut rows = crate::buffer::scratch(og * s * p);
    let mut dcol = crate::buffer::scratch(k * s * p);
    for sub in (0..images).step_by(s) {
        let count = s.min(images - sub);
        let width = count * p;
        for gi in 0..g.groups {
            gather_rows(g, dy, first + sub, count, gi, &mut rows);
            let w_t = MatRef::transposed(&w[gi * og * k..], k);
            gemm(
                k,
                og,
                width,
                w_t,
                MatRef::rows(&rows, width),
                0.0,
                &mut dcol,
            );
            for i in (0..count).filter(|_| k > 0) {
                let start = (sub + i) * g.in_image() + gi * group_len;
                col2im(
                    g,
                    &dcol[i * p..],
                    width,
                    &mut block[start..start + group_len],
                );
            }
        }
    }
    crate::buffer::recycle(rows);
    crate::buffer::recycle(dcol);
}

/// Weight gradient of the images `images` (one block): `partial` (`[O, col_rows]`) receives the
/// sum over those images of `dy @ im2col(x)^T`, one sgemm per image accumulated in image order.
///
/// Unlike the other two kernels this one keeps one product per image: side by side, the images
/// would become the summed dimension of one product, which measured no faster (the output is
/// only `[O, col_rows]`) and would change the order of the sum.
pub(crate) fn backward_weight(
    g: &ConvGeometry,
    dy: &[Elem],
    x: &[Elem],
    images: std::ops::Range<usize>,
    partial: &mut [Elem],
) {
    let (og, k, p) = (g.o_group(), g.col_rows(), g.out_plane());
    // The transposed column matrix read in place: rows are output positions, columns taps.
    let gathered = if g.is_pointwise() {
        None
    } else {
        gather_offsets(g, 1).map(|(taps, positions)| (positions, as_lane_offsets(&taps)))
    };
    let mut col = Vec::new();
    for (i, image) in images.enumerate() {
        let beta = if i == 0 { 0.0 } else { 1.0 };
        for gi in 0..g.groups {
            let input = group_input(g, x, image, gi);
            let dy_g = MatRef::rows(&dy[image * g.out_image() + gi * og * p..], p);
            let dw_g = &mut partial[gi * og * k..(gi + 1) * og * k];
            let in_place = gathered.as_ref().is_some_and(|(positions, taps)| {
                gemm_gathered(og, dy_g, input, (positions, taps), beta, dw_g)
            });
            if in_place {
                continue;
            }
            let cols = if g.is_pointwise() {
                input
            } else {
                if col.is_empty() {
                    col = crate::buffer::scratch(k * p);
                }
                im2col(g, input, &mut col, p);
                &col
            };
            gemm(og, p, k, dy_g, MatRef::transposed(cols, p), beta, dw_g);
        }
    }
    crate::buffer::recycle(col);
}

/// The bias-gradient partial of one block: `dy` holds the output gradients `[images, O, P]` of
/// the block's images, and each channel's `images * P` values are summed in f64 with the
/// rounding of `Tensor::try_sum_axes` (`reduce::sum_middle_axis`).
/// [`crate::Tensor::try_conv2d_backward_bias`] adds the blocks' partials in block order.
pub(crate) fn bias_partial(dy: &[Elem], o: usize, p: usize) -> Vec<f64> {
    let images = dy.len() / (o * p).max(1);
    let mut partial = vec![0.0; o];
    crate::reduce::sum_middle_axis(dy, (o, images, p), 0, &mut partial);
    partial
}

/// Adds the blocks' bias partials in block order, in f64, and rounds once to f32.
pub(crate) fn bias_total(partials: impl Iterator<Item = Vec<f64>>, o: usize) -> Vec<Elem> {
    let mut total = vec![0.0f64; o];
    for partial in partials {
        for (t, p) in total.iter_mut().zip(partial) {
            *t += p;
        }
    }
    total.into_iter().map(|t| t as Elem).collect()
}
