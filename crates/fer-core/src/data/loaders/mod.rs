//! Loaders for the real data sets' on-disk layouts (FER2013, FERG-DB, JAFFE, CK+, Oulu-CASIA) and a generic image folder.

pub mod ckplus;
pub mod fer2013;
pub mod ferg;
mod files;
pub mod image_folder;
mod item;
pub mod jaffe;
mod load;
mod members;
pub mod oulu;

pub use files::Special;
pub(crate) use files::{open_regular, Tree};
pub use item::{
    Item, LoadOptions, Loaded, LoaderKind, OuluIllumination, OuluModality, ResizeTo, SkipKind, Skipped, Usage,
};
pub(crate) use load::load_inner;
pub use load::{load, load_named};
pub use members::{members, Members};

#[cfg(test)]
mod tests;
