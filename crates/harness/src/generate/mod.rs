//! Generators (proptest strategies) for configurations, identities, requests, worlds and conversations.
//!
//! Property tests, benchmarks and generated conversations draw their worlds
//! from here, so each is built the same way everywhere.

pub mod config;
pub mod conversation;
pub mod memo;
pub mod world;
