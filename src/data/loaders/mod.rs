//! Loaders for the real data sets' on-disk layouts (FER2013, FERG-DB, JAFFE, CK+, Oulu-CASIA) and a generic image folder.

pub mod ckplus;
pub mod fer2013;
pub mod ferg;
mod files;
pub mod image_folder;
mod item;
pub mod jaffe;
mod load;
pub mod oulu;

pub use item::{
    Item, LoadOptions, Loaded, LoaderKind, OuluIllumination, OuluModality, ResizeTo, SkipKind, Skipped, Usage,
};
pub(crate) use load::load_inner;
pub use load::{load, load_named};

#[cfg(test)]
mod tests;
