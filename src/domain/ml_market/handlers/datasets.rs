//! Dataset rounds and their signed URLs (spec section 3).

use crate::api::{FileReply, OpContext, Page, Reply, respond};
use crate::error::ApiError;
use crate::reason::Reason;
use crate::store::Tx;

use super::super::dataset::Recipe;
use super::super::files;
use super::super::rules::SIGNED_URL_TTL_S;
use super::super::store::{self, Listed, MlStore};
use super::super::types::{
    DatasetRound, RoundCreateRequest, SignedUrl, SignedUrls, SignedUrlsRequest,
};
use super::{check_signed_link, next_id, now_text, page_of, signed_link};

/// The alias of the current round, wherever a round id is taken.
const CURRENT: &str = "current";
/// The most bars a generated round may have, over all its symbols: what the server writes
/// within a request's transaction in a fraction of a second. Larger rounds are published
/// with `marketref rounds publish`.
const MAX_GENERATED_BARS: u64 = 200_000;

/// A generated round, written to the data folder and registered; the first round becomes the
/// current one, and `current: true` makes a later one current.
pub(super) fn create_round(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let request: RoundCreateRequest = ctx.body()?;
    if request.round_id == CURRENT {
        return Err(ctx.field_error("/round_id", "not_an_alias"));
    }
    let spec = &request.generate;
    if u64::from(spec.bars) * spec.symbols.len() as u64 > MAX_GENERATED_BARS {
        return Err(ctx
            .field_error("/generate/bars", "max_total_bars")
            .with("max_total_bars", MAX_GENERATED_BARS));
    }
    if tx.round(&request.round_id)?.is_some() {
        return Err(ApiError::new(Reason::RoundExists).with("round_id", &request.round_id));
    }
    let is_current = request.current.unwrap_or(false) || tx.current_round()?.is_none();
    let recipe = Recipe {
        seed: spec.seed,
        symbols: spec.symbols.iter().map(|symbol| symbol.0.clone()).collect(),
        bars: spec.bars as usize,
        timeframe: spec.timeframe,
    };
    let round = files::write_generated(
        &ctx.env.data_dir,
        &request.round_id,
        &recipe,
        &request.name,
        request.description.as_deref(),
        &now_text(ctx.now()),
        is_current,
    )
    .map_err(|e| ApiError::internal(format!("writing round files: {e}")))?;
    let (seq, _) = next_id(tx, "ml_round", "round")?;
    tx.insert_round(&round, seq)?;
    respond(&round)
}

/// The round `round_id` names, `current` included.
pub(super) fn stored_round(tx: &dyn MlStore, round_id: &str) -> Result<DatasetRound, ApiError> {
    let round = if round_id == CURRENT {
        tx.current_round()?
    } else {
        tx.round(round_id)?
    };
    round.ok_or_else(|| ApiError::new(Reason::RoundNotFound).with("round_id", round_id))
}

pub(super) fn list_rounds(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let page = Page::from_query(ctx);
    let before = Page::cursor_seq(ctx, |cursor| tx.seq_of(Listed::Rounds, cursor))?;
    let rounds = tx.rounds_page(before, page.fetch())?;
    respond(&page_of(&page, rounds, |round| round.round_id.clone()))
}

pub(super) fn current_round(_ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    respond(&stored_round(store::of(tx)?, CURRENT)?)
}

pub(super) fn get_round(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    respond(&stored_round(store::of(tx)?, ctx.path_param("round_id"))?)
}

/// The path a file's URL points at, which the signature covers.
pub(super) fn file_path(round_id: &str, name: &str) -> String {
    format!("/api/datasets/files/{round_id}/{name}")
}

/// A URL per file of the round (or per file asked for), each good for 900 seconds of the
/// request clock. The URLs are relative to the server that answered: any instance checks them.
pub(super) fn signed_urls(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let request: SignedUrlsRequest = ctx.body()?;
    let round = stored_round(tx, &request.round_id)?;
    if let Some(asked) = &request.files
        && let Some(missing) = asked
            .iter()
            .find(|name| !round.files.iter().any(|file| &file.name == *name))
    {
        return Err(ApiError::new(Reason::DatasetFileNotFound)
            .with("round_id", &round.round_id)
            .with("name", missing));
    }
    let urls = round
        .files
        .iter()
        .filter(|file| {
            request
                .files
                .as_ref()
                .is_none_or(|asked| asked.contains(&file.name))
        })
        .map(|file| {
            let (url, expires) = signed_link(ctx, &file_path(&round.round_id, &file.name));
            SignedUrl {
                name: file.name.clone(),
                url,
                expires_at: now_text(expires),
                sha256: file.sha256.clone(),
                size_bytes: file.size_bytes,
            }
        })
        .collect();
    respond(&SignedUrls {
        round_id: round.round_id,
        ttl_seconds: SIGNED_URL_TTL_S,
        urls,
    })
}

/// One file of a round, for a URL this server signed and that has not expired.
pub(super) fn file(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (round_id, name) = (ctx.path_param("round_id"), ctx.path_param("name"));
    check_signed_link(ctx, &file_path(round_id, name))?;
    let round = tx
        .round(round_id)?
        .ok_or_else(|| ApiError::new(Reason::RoundNotFound).with("round_id", round_id))?;
    if !round.files.iter().any(|file| file.name == name) {
        return Err(ApiError::new(Reason::DatasetFileNotFound)
            .with("round_id", round_id)
            .with("name", name));
    }
    Ok(Reply::File(FileReply {
        path: files::file_path(&ctx.env.data_dir, round_id, name),
        media_type: "text/csv".to_owned(),
    }))
}
