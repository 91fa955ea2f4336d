//! Loader tests on tiny data sets written in each real layout.

use super::*;
