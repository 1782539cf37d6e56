//! Workspace-level tests: the tidy checks and end-to-end tests live under `tests/tests/`;
//! this library only runs the README's examples as doctests.
#![doc = include_str!("../../README.md")]
