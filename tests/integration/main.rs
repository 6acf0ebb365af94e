//! The integration tests, in one binary: each module tests one part through its public API, the real binary or real HTTP.
//!
//! One binary links the workspace once (twenty used to link it twenty times). The
//! scenario suite (`tests/scenarios.rs`, one test per scenario file) and the allocation
//! test (`tests/policy_alloc.rs`, which installs a counting allocator) have binaries of
//! their own.

mod common;

mod agent;
mod agent_serve;
mod architecture;
mod cli;
mod clients;
mod clients_mocks;
mod config_load;
mod faulty_agents;
mod fuzz;
mod in_process;
mod mocks;
mod mocks_api;
mod protocol;
mod rigs;
mod run;
mod scenario_load;
mod twin;
mod understand;
mod world;
