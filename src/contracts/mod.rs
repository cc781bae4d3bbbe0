//! The contract as files: generated JSON Schemas, the reason-code registry, the OpenAPI
//! document, and the drift gate that keeps the committed copies equal to what the code
//! generates (`marketref contracts check|write`).

mod check;
pub mod openapi;
pub mod schemas;

pub use check::{
    CheckReport, EXAMPLES_DIR, GeneratedFile, Problem, ProblemKind, check, generated_files, write,
};
