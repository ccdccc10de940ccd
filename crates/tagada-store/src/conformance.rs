//! The conformance suite: PENDING (helper).
