//! The crate graph keeps the oracle independent: the harness reaches no crate of the agent's.

/// The oracle must judge from observations alone. The crate graph makes it so: the harness
/// crate (oracle, expectations, runner, fuzzer) depends on no crate of the agent's (its
/// engine, its policy, its identity and token code), under any kind of dependency, so a
/// `use leakproof_agent::…` or `use leakproof_policy::…` anywhere in it does not compile.
#[test]
fn the_harness_depends_on_no_crate_of_the_agents() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let members = |name: &str| {
        let package = packages.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("no {name}"));
        package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["path"].is_string())
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    // Everything the harness reaches through the workspace's own crates.
    let mut reached = vec!["leakproof-harness".to_owned()];
    let mut next = 0;
    while next < reached.len() {
        for dependency in members(&reached[next].clone()) {
            if !reached.contains(&dependency) {
                reached.push(dependency);
            }
        }
        next += 1;
    }
    for agents in ["leakproof-agent", "leakproof-policy", "leakproof-identity", "leakproof"] {
        assert!(!reached.contains(&agents.to_owned()), "the harness reaches {agents}: {reached:?}");
    }
    // The harness does reach what it needs to judge: the mocks and their wire types.
    for needed in ["leakproof-mocks", "leakproof-hubspot", "leakproof-protocol"] {
        assert!(reached.contains(&needed.to_owned()), "{needed} missing from {reached:?}");
    }
}
