//! The reference customer agent: understands customers deterministically, asks the policy before every access, and talks to the CRM and mail service over HTTP.

pub mod render;
pub mod understand;
