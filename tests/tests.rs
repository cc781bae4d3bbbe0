//! marketref's integration tests, one binary with a module per theme. (The verifier's own
//! tests, which run every milestone, live in verify/tests/.)

mod contracts {
    use std::path::Path;

    /// The drift gate: `cargo test` fails when a committed schema, the reason registry or the
    /// OpenAPI document differs from what the code generates, or an example fails its schema.
    #[test]
    fn committed_contract_files_equal_the_generated_ones() {
        let report = marketref::contracts::check(Path::new(env!("CARGO_MANIFEST_DIR")))
            .expect("the repository is readable");
        assert!(report.is_clean(), "{report}");
        assert!(report.files_checked > 0 && report.examples_checked > 0, "{report}");
    }
}
