//! Understanding customer text (in progress).
