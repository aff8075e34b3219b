//! Out-of-place transposition of a contiguous matrix, with register transposes where the CPU
//! has the vector kernels.
//!
//! Used to turn the product `(b^T @ a^T)` back into `a @ b` (see `matmul`): a copy, so every
//! element keeps its bits, and on the MLP's shapes (32-128 rows of 256) it costs a few
//! microseconds where a scalar loop took tens.

use crate::tensor::Elem;

/// `dst[j * rows + i] = src[i * cols + j]` for `i < rows`, `j < cols`.
///
/// # Panics
/// When `src` or `dst` holds fewer than `rows * cols` elements.
pub(crate) fn transpose_into(src: &[Elem], rows: usize, cols: usize, dst: &mut [Elem]) {
    assert!(
        src.len() >= rows * cols && dst.len() >= rows * cols,
        "transpose: buffers shorter than {rows}x{cols}"
    );
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    match crate::cpu::isa() {
        // SAFETY: the CPU has the features of the kernel chosen.
        Some(crate::cpu::Isa::Avx512) => {
            return unsafe { crate::sgemm_avx512::transpose_matrix(src, rows, cols, dst) }
        }
        Some(crate::cpu::Isa::Avx2) => {
            return unsafe { crate::sgemm_avx2::transpose_matrix(src, rows, cols, dst) }
        }
        None => {}
    }
    transpose_portable(src, rows, cols, dst);
}

/// [`transpose_into`] in plain loops over 16x16 blocks (each block's rows and columns stay in
/// cache while it is copied).
fn transpose_portable(src: &[Elem], rows: usize, cols: usize, dst: &mut [Elem]) {
    const BLOCK: usize = 16;
    for i0 in (0..rows).step_by(BLOCK) {
        for j0 in (0..cols).step_by(BLOCK) {
            for i in i0..(i0 + BLOCK).min(rows) {
                for j in j0..(j0 + BLOCK).min(cols) {
                    dst[j * rows + i] = src[i * cols + j];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel, on sizes around the 8 and 16 blocks, writes exactly the transpose and
    /// nothing past it.
    #[test]
    fn every_kernel_writes_the_transpose() {
        type Kernel = fn(&[Elem], usize, usize, &mut [Elem]);
        let mut kernels: Vec<(&str, Kernel)> = vec![("portable", transpose_portable)];
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        {
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F.
                kernels.push(("avx512", |s, r, c, d| unsafe {
                    crate::sgemm_avx512::transpose_matrix(s, r, c, d)
                }));
            }
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                kernels.push(("avx2", |s, r, c, d| unsafe {
                    crate::sgemm_avx2::transpose_matrix(s, r, c, d)
                }));
            }
        }
        kernels.push(("dispatched", transpose_into));
        for (name, kernel) in kernels {
            for rows in [1, 7, 8, 9, 16, 17, 33] {
                for cols in [1, 5, 8, 15, 16, 31, 40] {
                    let src: Vec<Elem> = (0..rows * cols).map(|v| v as Elem).collect();
                    let mut dst = vec![-1.0; rows * cols + 3];
                    kernel(&src, rows, cols, &mut dst);
                    for i in 0..rows {
                        for j in 0..cols {
                            assert_eq!(
                                dst[j * rows + i],
                                src[i * cols + j],
                                "{name} {rows}x{cols}"
                            );
                        }
                    }
                    assert_eq!(
                        &dst[rows * cols..],
                        &[-1.0; 3],
                        "{name} {rows}x{cols} overran"
                    );
                }
            }
        }
    }
}
