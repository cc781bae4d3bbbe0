//! The transpose of a list of lists, by counting sort: for each target, the entries pointing
//! at it, ascending. One routine for every such index of the selection (a component's items of
//! each intent; in [`super::rows`], the rows appended to each item, the ring search's sides of
//! each intent and, at every full dual step, the active items of each row), rather than a
//! counting sort written out at each.

/// The transpose of `lists_of` (for each of `count` entries, its targets below
/// `target_count`): for each target, the entries pointing at it, ascending, as
/// `entries[starts[target]..starts[target + 1]]`. Returns `(starts, entries)`.
pub(super) fn transpose<'a>(
    count: usize,
    target_count: usize,
    lists_of: impl Fn(usize) -> &'a [u32],
) -> (Vec<usize>, Vec<u32>) {
    let mut transposed = Transposed::default();
    transposed.fill(count, target_count, lists_of);
    (transposed.starts, transposed.entries)
}

/// A [`transpose`] whose buffers are kept for the next one: the dual redoes one every few
/// steps, and fresh buffers of that size cost page faults each time.
#[derive(Default)]
pub(super) struct Transposed {
    starts: Vec<usize>,
    pub(super) entries: Vec<u32>,
    /// While filling, each target's next free slot in `entries`.
    next_slot: Vec<usize>,
}

impl Transposed {
    /// Replaces the contents with the transpose of `lists_of`, as [`transpose`] returns it.
    pub(super) fn fill<'a>(
        &mut self,
        count: usize,
        target_count: usize,
        lists_of: impl Fn(usize) -> &'a [u32],
    ) {
        let starts = &mut self.starts;
        starts.clear();
        starts.resize(target_count + 1, 0);
        for entry in 0..count {
            for &target in lists_of(entry) {
                starts[target as usize + 1] += 1;
            }
        }
        for target in 0..target_count {
            starts[target + 1] += starts[target];
        }
        self.next_slot.clone_from(starts);
        self.entries.clear();
        self.entries.resize(starts[target_count], 0);
        for entry in 0..count {
            for &target in lists_of(entry) {
                self.entries[self.next_slot[target as usize]] = entry as u32;
                self.next_slot[target as usize] += 1;
            }
        }
    }

    pub(super) fn of(&self, target: usize) -> &[u32] {
        &self.entries[self.starts[target]..self.starts[target + 1]]
    }
}
