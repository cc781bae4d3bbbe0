//! The console's one operation.

use crate::error::ApiError;
use crate::http::{Handler, OpContext};
use crate::store::Tx;

use super::page;

pub const HANDLERS: &[(&str, Handler)] = &[("console.page", console_page)];

fn console_page(ctx: &OpContext<'_>, _tx: &mut dyn Tx) -> Result<serde_json::Value, ApiError> {
    page::render(&ctx.runtime.manifest).map(serde_json::Value::String)
}
