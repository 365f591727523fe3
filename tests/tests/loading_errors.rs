//! Each way an extension can fail to load gives one clear line naming the configuration
//! file, the `module:Type` and what to do, and no server starts.

use beginnings_tests::{Failed, build_dir, start_expecting_failure};

fn fail_with(extensions_yaml: &str) -> Failed {
    let yaml = format!("app:\n  name: failing\nextensions:\n{extensions_yaml}");
    let failed = start_expecting_failure(&yaml, &[]);
    assert!(!failed.status.success(), "must exit non-zero");
    assert!(
        !failed.stdout.contains("listening on"),
        "no server may start: {}",
        failed.stdout
    );
    failed
}

fn error_line(failed: &Failed) -> &str {
    failed
        .stderr
        .lines()
        .find(|line| line.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in: {}", failed.stderr))
}

#[test]
fn a_missing_library_names_the_directory_and_what_it_holds() {
    let failed = fail_with("  \"nothere:SomeExtension\": {}\n");
    let line = error_line(&failed);
    assert!(
        line.contains("app.yaml:4:3:"),
        "names file, line and column: {line}"
    );
    assert!(line.contains("`nothere:SomeExtension`"), "{line}");
    assert!(line.contains("libnothere.so not found"), "{line}");
    assert!(
        line.contains(&format!("searched {}", build_dir().display())),
        "{line}"
    );
    assert!(
        line.contains("libsecurity.so"),
        "lists what the directory holds: {line}"
    );
    assert!(line.contains("--extensions-dir"), "says what to do: {line}");
}

#[test]
fn a_library_that_is_not_an_extension_is_refused() {
    let failed = fail_with("  \"fixture_not_abi:Anything\": {}\n");
    let line = error_line(&failed);
    assert!(line.contains("`fixture_not_abi:Anything`"), "{line}");
    assert!(
        line.contains("is not a Beginnings extension library"),
        "{line}"
    );
    assert!(
        line.contains("export_extension!"),
        "says what to do: {line}"
    );
}

#[test]
fn a_type_the_library_does_not_export_lists_the_exported_ones() {
    let failed = fail_with("  \"security:CorsExtension\": {}\n");
    let line = error_line(&failed);
    assert!(line.contains("`security:CorsExtension`"), "{line}");
    assert!(
        line.contains(
            "does not export type `CorsExtension` (it exports: SecurityHeadersExtension)"
        ),
        "{line}"
    );
}

#[test]
fn a_rejected_configuration_gives_the_extension_message_with_the_key_path() {
    let failed = fail_with("  \"security:SecurityHeadersExtension\":\n    x_frame_options: 42\n");
    let line = error_line(&failed);
    assert!(line.contains("app.yaml"), "{line}");
    assert!(
        line.contains("`security:SecurityHeadersExtension`"),
        "{line}"
    );
    assert!(
        line.contains("configuration rejected: x_frame_options: invalid type: integer `42`"),
        "{line}"
    );

    let failed = fail_with("  \"security:SecurityHeadersExtension\":\n    x_frame_option: DENY\n");
    let line = error_line(&failed);
    assert!(line.contains("unknown field `x_frame_option`"), "{line}");

    let failed = fail_with(
        "  \"security:SecurityHeadersExtension\":\n    referrer_policy: \"bad\\nvalue\"\n",
    );
    let line = error_line(&failed);
    assert!(line.contains("referrer_policy:"), "{line}");
    assert!(line.contains("not a valid header value"), "{line}");
}

#[test]
fn every_failing_extension_is_reported_together() {
    let failed = fail_with("  \"nothere:A\": {}\n  \"security:Nope\": {}\n");
    assert!(failed.stderr.contains("`nothere:A`"), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("`security:Nope`"),
        "{}",
        failed.stderr
    );
}

#[test]
fn a_module_name_that_is_a_path_is_refused() {
    let failed = fail_with("  \"../evil:Extension\": {}\n");
    assert!(
        failed.stderr.contains("../evil"),
        "names the entry: {}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("app.yaml:4:3:"),
        "names file, line and column: {}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .contains("lowercase letters, digits and `_` only"),
        "{}",
        failed.stderr
    );
}
