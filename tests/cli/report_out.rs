//! report --out deletes only what it wrote; shared entries are labelled by the pipeline being reported.
