//! Channel rendering (in progress).
