//! Checkpoints live until done is durable; damaged or foreign checkpoints are discarded; stale temp files removed.
