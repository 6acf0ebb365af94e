//! Talking to the CRM: HubSpot CRM v3 wire types and the client the agent reads and writes records with.

pub mod wire;
