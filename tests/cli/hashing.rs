//! Job hashes depend on content and settings only; golden hashes; verify, plan and prepare agree on the data's files.
