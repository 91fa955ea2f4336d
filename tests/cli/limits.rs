//! Size limits on input: alias bombs and huge matrices are refused fast; paths must be what they claim.
