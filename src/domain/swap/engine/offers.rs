//! The index that turns a want into the intents that meet it: offering nodes by asset key and
//! by category. The graph phase looks every want clause up here, so its work grows with the
//! number of edges, not with the square of the number of intents.

use std::collections::HashMap;

use foldhash::fast::FixedState;

use super::super::types::{Platform, SwapIntent, WantClause};
use super::graph::node_id;

/// Offering nodes per asset key and per category, as compressed rows: each group's nodes are
/// ascending and distinct. One map entry per distinct key, no list per key.
pub(super) struct OfferIndex<'a> {
    by_asset: HashMap<(Platform, &'a str), u32, FixedState>,
    by_category: HashMap<&'a str, u32, FixedState>,
    /// Group `g`'s nodes are `members[starts[g]..starts[g + 1]]`.
    starts: Vec<usize>,
    members: Vec<u32>,
}

impl<'a> OfferIndex<'a> {
    pub(super) fn build(nodes: &[&'a SwapIntent]) -> OfferIndex<'a> {
        let offered: usize = nodes.iter().map(|intent| intent.offer.len()).sum();
        let mut by_asset = HashMap::with_capacity_and_hasher(offered, FixedState::default());
        let mut by_category = HashMap::with_hasher(FixedState::default());
        // (group, node) in node order; a node offering one key twice is listed twice here
        // and once in its group.
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(offered * 2);
        let mut groups = 0u32;
        for (node, intent) in nodes.iter().enumerate() {
            let node = node_id(node);
            for asset in &intent.offer {
                let group = *by_asset
                    .entry((asset.platform, asset.asset_id.as_str()))
                    .or_insert_with(|| next_group(&mut groups));
                pairs.push((group, node));
                if let Some(category) = asset.category() {
                    let group = *by_category
                        .entry(category)
                        .or_insert_with(|| next_group(&mut groups));
                    pairs.push((group, node));
                }
            }
        }
        let mut starts = vec![0usize; groups as usize + 1];
        for &(group, _) in &pairs {
            starts[group as usize + 1] += 1;
        }
        for g in 0..groups as usize {
            starts[g + 1] += starts[g];
        }
        let mut fill = starts.clone();
        let mut members = vec![0u32; pairs.len()];
        for (group, node) in pairs {
            let group = group as usize;
            if fill[group] > starts[group] && members[fill[group] - 1] == node {
                continue;
            }
            members[fill[group]] = node;
            fill[group] += 1;
        }
        // Compact away the slots that duplicates left empty.
        let mut compact = Vec::with_capacity(members.len());
        let mut compact_starts = Vec::with_capacity(starts.len());
        compact_starts.push(0);
        for g in 0..groups as usize {
            compact.extend_from_slice(&members[starts[g]..fill[g]]);
            compact_starts.push(compact.len());
        }
        OfferIndex {
            by_asset,
            by_category,
            starts: compact_starts,
            members: compact,
        }
    }

    fn group(&self, group: u32) -> &[u32] {
        let group = group as usize;
        &self.members[self.starts[group]..self.starts[group + 1]]
    }

    /// The nodes whose offer meets `clause`, ascending.
    pub(super) fn offering(&self, clause: &WantClause) -> &[u32] {
        let group = match clause {
            WantClause::SpecificAsset { asset_key, .. } => {
                parse_asset_key(asset_key).and_then(|key| self.by_asset.get(&key))
            }
            WantClause::Category { category, .. } => self.by_category.get(category.as_str()),
        };
        group.map_or(&[], |&group| self.group(group))
    }
}

fn next_group(groups: &mut u32) -> u32 {
    let group = *groups;
    *groups += 1;
    group
}

/// Splits `steam:assetA` into its platform and bare asset id.
fn parse_asset_key(key: &str) -> Option<(Platform, &str)> {
    let (platform, asset_id) = key.split_once(':')?;
    match platform {
        "steam" => Some((Platform::Steam, asset_id)),
        _ => None,
    }
}
