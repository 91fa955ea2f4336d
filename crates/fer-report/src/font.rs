//! The chart font: DejaVu Sans shipped in `assets/fonts/` and registered with Plotters, so
//! chart text renders on a machine with no system fonts.

use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

use super::error::ReportError;

/// The family name charts ask for.
pub(crate) const FAMILY: &str = "sans-serif";

pub(crate) static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
pub(crate) static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the shipped fonts once per process (regular and bold under [`FAMILY`]).
pub(crate) fn register() -> Result<(), ReportError> {
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FAMILY, FontStyle::Normal, REGULAR).is_ok()
            && register_font(FAMILY, FontStyle::Bold, BOLD).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Font { name: "assets/fonts/DejaVuSans.ttf".into() })
    }
}
