//! GC roots: gc keeps what any recorded run or given pipeline reaches, asks before deleting, spares locked entries.
