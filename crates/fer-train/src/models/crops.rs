//! MicroExpNet's published input windows (Candidates/Preprocessing.py and exampleUsage.py of the
//! public code): from a face resized to 256 x 256, eight 224 x 224 windows at fixed offsets for
//! training (`train::augment`), and the (32, 32) window at test time, which the model applies to
//! 256 px faces itself.

use tch::{Kind, Tensor};

/// Side of the face the crops are cut from.
pub const FACE: i64 = fer_core::spec::MULTI_CROP_FACE as i64;
/// Side of a crop window.
pub const WINDOW: i64 = 224;
/// (row, col) of the 8 windows, in the order of `mirrorImages` in Preprocessing.py
/// (`img[0:224, 0:224]`, `img[0:224, 5:229]`, `img[0:224, 32:256]`, `img[5:229, 0:224]`,
/// `img[32:256, 0:224]`, `img[5:229, 5:229]`, `img[32:256, 32:256]`, `img[5:229, 32:256]`).
pub const OFFSETS: [(i64, i64); 8] = [(0, 0), (0, 5), (0, 32), (5, 0), (32, 0), (5, 5), (32, 32), (5, 32)];
/// The test-time window of exampleUsage.py's `segmentFace`: `img[32:256, 32:256]`.
pub const TEST_OFFSET: (i64, i64) = (32, 32);

/// The window at `(row, col)` of every face of `faces` (N x 1 x 256 x 256, any kind), resized to
/// `out` x `out` with OpenCV's `INTER_LINEAR` sampling (source = (dst + 0.5) * 224 / out - 0.5,
/// bilinear, no antialiasing; LibTorch's `upsample_bilinear2d` without `align_corners` samples
/// the same points) and rounded to whole grey levels (halves up), as `cv2.resize` returns `uint8`.
/// OpenCV weighs with 11-bit fixed-point coefficients, so a pixel may differ from it by one level.
pub fn crop(faces: &Tensor, at: (i64, i64), out: i64) -> Tensor {
    // Halves round up, as OpenCV's fixed-point `(v + 2^21) >> 22` does (not to even).
    (resample(faces, at, out) + 0.5).floor()
}

/// [`crop`] before rounding.
pub(crate) fn resample(faces: &Tensor, (row, col): (i64, i64), out: i64) -> Tensor {
    faces.to_kind(Kind::Float).narrow(2, row, WINDOW).narrow(3, col, WINDOW).upsample_bilinear2d(
        [out, out],
        false,
        None,
        None,
    )
}

/// The test-time input of the published recipe: the (32, 32) window of 256 px faces, at `out` px.
pub fn test_crop(faces: &Tensor, out: i64) -> Tensor {
    crop(faces, TEST_OFFSET, out)
}
