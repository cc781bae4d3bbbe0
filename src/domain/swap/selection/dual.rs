//! The bound: a Lagrangian relaxation of a component's rows ([`super::rows`]), its multipliers
//! found by accelerated gradient steps on a smoothed dual. Besides the bound it gives the two
//! orders the searches round in ([`super::search`]).
//!
//! The constants here tune how fast and how tight the bound gets, and so the orders the
//! searches start from; none can make it invalid, since every non-negative multiplier vector
//! gives a bound that no disjoint selection beats.

use rayon::prelude::*;

use super::Work;
use super::components::Component;
use super::rows::{self, ActiveRows, Rows};

/// Dual steps at most, per component.
const MAX_DUAL_STEPS: usize = 400;
/// A dual step visits every (item, row) entry this many times (reduced costs, gradient,
/// update), counted against the budget.
const STEP_PASSES: u64 = 2;
/// The dual's smoothing, in units of a typical item weight: from this at the first step ...
const SMOOTH_START: f64 = 0.01;
/// ... shrinking by this factor per step ...
const SMOOTH_DECAY: f64 = 0.992;
/// ... down to this.
const SMOOTH_END: f64 = 0.001;
/// The gradient step, in units of the smoothing (the smoothed dual's curvature grows as the
/// smoothing shrinks).
const STEP_SIZE: f64 = 0.5;
/// Components of at least this many items share each dual step out over threads.
const PARALLEL_DUAL: usize = 4096;
/// Clique rows are added to a component's relaxation only when the budget affords building
/// them and at least this many dual steps: too few steps leave their multipliers at 0.
const MIN_CLIQUE_STEPS: u64 = 150;
/// Dual steps at which odd rings are separated from the averaged solution: early and often,
/// since rings found from a rough solution still cut, and each later one is found from a
/// better solution. Multipliers (and the steps' momentum) carry over; new rows start at 0.
const SEPARATE_AT: [usize; 10] = [40, 60, 80, 100, 120, 140, 160, 180, 200, 220];
/// The dual stops when its bound moved by less than this share over the last
/// [`STALL_STEPS`] steps (after the last separation).
const STALL_SHARE: f64 = 0.0005;
/// See [`STALL_SHARE`].
const STALL_STEPS: usize = 40;
/// The share of the bound's budget, in percent, that separating odd rings may spend (a tenth
/// of it at each separation).
const SEPARATION_SHARE: u64 = 30;
/// Steps before the averaged solution starts counting (it restarts at every separation).
const AVERAGE_AFTER: usize = 20;
/// Dual steps between full ones: a full step prices every item, the others only the active
/// ones (on the benchmark load, 40 to 55% of them).
const FULL_EVERY: usize = 10;
/// An item is active when its reduced cost is above `-ACTIVE_Z * mu`, less what its rows'
/// multipliers fell by since the last full step (as far as they may fall again before the
/// next): below, its logistic is under e^-32, and it is taken as 0 until then. Without that
/// reach, on objective intents (whose multipliers swing more) the 5k bound was 4% above the
/// optimum instead of 0.5%.
const ACTIVE_Z: f64 = 32.0;

impl Component {
    /// Minimises the Lagrangian dual of the relaxation's rows ([`rows`]): intent rows, clique
    /// rows when the budget affords them, and odd-ring rows separated on the way, at steps
    /// [`SEPARATE_AT`]. Every multiplier vector met gives a valid bound; the best is kept.
    /// Returns it (or stops early once it reaches `target`, a value some selection reaches)
    /// with two orders to round in: the smoothed relaxation's averaged solution, and the
    /// reduced costs at the best bound.
    ///
    /// The dual is piecewise linear. Smoothing each item's `max(0, reduced cost)` into
    /// `mu * ln(1 + e^(reduced cost / mu))` makes it differentiable, with the item's logistic
    /// `1 / (1 + e^(-reduced cost / mu))` as a fractional solution. Accelerated projected
    /// gradient steps (FISTA) on that, with `mu` shrinking step by step, came within 0.1% of
    /// the LP bound over intent and clique rows in 300 steps on the 5,000-intent benchmark load,
    /// where 300 Polyak-step subgradient steps stayed 0.2% above it.
    ///
    /// Most items sit far below a zero reduced cost, where the logistic is 0. Only every
    /// [`FULL_EVERY`]th step (and the step of a separation that added rows) prices them all
    /// and takes the bound; the steps between price and gather only the items that were near zero then.
    pub(super) fn dual(&self, work: &mut Work, target: f64) -> (f64, Vec<Vec<f64>>) {
        let item_nodes: Vec<&[u32]> = (0..self.len()).map(|i| self.item_nodes(i)).collect();
        let node_count = self.node_count();
        // Rows beyond the intents' only when the budget affords building them and enough steps
        // to use them: with too few steps their multipliers stay far from useful and the bound
        // is worse than the intent rows' alone. A step over clique rows costs up to three times
        // one over intent rows (2.3 times on the benchmark load).
        let intents_step = (self.len() * 3 + node_count) as u64 / 4;
        let clique_cost = Rows::clique_cost(&item_nodes);
        let with_cliques = work.left >= clique_cost + MIN_CLIQUE_STEPS * 3 * intents_step;
        let mut extra: Vec<rows::Extra> = Vec::new();
        let mut pairs = Vec::new();
        if with_cliques {
            work.spend(clique_cost);
            pairs = rows::item_pairs(&item_nodes);
            extra.extend(
                rows::triple_cliques(&item_nodes, &pairs)
                    .into_iter()
                    .map(|c| (c, 1.0)),
            );
        }
        let (mut rows, built) = Rows::build(&item_nodes, node_count, &extra);
        work.spend(built);
        // Each separation of odd rings may spend this much.
        let separation = work.left * SEPARATION_SHARE / 100 / SEPARATE_AT.len() as u64;
        // Start where no reduced cost is positive: the bound is then the sum of multipliers.
        // Extra rows start at 0, so the first bound is the intent rows' alone.
        let mut lambda = vec![0.0f64; rows.count()];
        for (item, primary) in self.primary.iter().enumerate() {
            let share = primary.max(0.0) / f64::from(self.lens[item]);
            for &n in self.item_nodes(item) {
                lambda[n as usize] = lambda[n as usize].max(share);
            }
        }
        // Smoothing in the objective's own units: a typical item weight.
        let scale = self.primary.iter().map(|p| p.abs()).sum::<f64>() / self.len().max(1) as f64;
        let mut previous = lambda.clone();
        let mut momentum = 1.0f64;
        let mut best_bound = f64::INFINITY;
        let mut best_costs = Vec::new();
        let mut snapshots = Vec::new();
        let mut reduced = vec![0.0f64; self.len()];
        let mut smooth = vec![0.0f64; self.len()];
        // The average of the smoothed solutions since the rows last changed (before the first
        // separation, from step AVERAGE_AFTER on) approaches an optimal LP solution: where odd
        // rings are separated from, and a good order to round in.
        let mut average = vec![0.0f64; self.len()];
        let mut mean = Vec::with_capacity(self.len());
        let mut averaged = 0.0f64;
        let mut average_from = AVERAGE_AFTER;
        let mut checkpoint = f64::INFINITY;
        let mut rows_changed = true;
        let mut active: Vec<u32> = Vec::new();
        let mut active_smooth: Vec<f64> = Vec::new();
        let mut active_rows = ActiveRows::default();
        let mut active_cost = 0u64;
        let mut falls = vec![0.0f64; rows.count()];
        for step in 0..MAX_DUAL_STEPS {
            if with_cliques && SEPARATE_AT.contains(&step) && averaged > 0.0 {
                mean.clear();
                mean.extend(average.iter().map(|x| x / averaged));
                let mut units = separation.min(work.left);
                let before = units;
                let rings = rows::odd_rings(
                    &item_nodes,
                    &pairs,
                    |n| self.items_of(n),
                    node_count,
                    &mean,
                    &mut units,
                );
                work.spend(before - units);
                if !rings.is_empty() {
                    work.spend(rows.extend(&rings));
                    rows_changed = true;
                    lambda.resize(rows.count(), 0.0);
                    previous.resize(rows.count(), 0.0);
                    falls.resize(rows.count(), 0.0);
                    average.iter_mut().for_each(|x| *x = 0.0);
                    averaged = 0.0;
                    average_from = step;
                }
            }
            // A full step prices every item, takes the bound and picks the active items; the
            // steps between price only those.
            let full = step % FULL_EVERY == 0 || rows_changed;
            let cost = if full {
                rows.step_cost() * STEP_PASSES
            } else {
                active_cost
            };
            // The first step always runs: its bound (the starting multipliers') is valid.
            if !work.spend(cost) && step > 0 {
                break;
            }
            let mu = scale * (SMOOTH_START * SMOOTH_DECAY.powi(step as i32)).max(SMOOTH_END);
            let logistic = |cost: f64| {
                // Far below 0 the logistic is 0 to within 1e-13: no exp, and nothing to add to
                // the gradient (most items, those outside the LP's support, are there).
                let z = cost / mu;
                if z < -30.0 {
                    0.0
                } else {
                    1.0 / (1.0 + (-z).exp())
                }
            };
            let reduced_cost = |item: usize| {
                self.primary[item]
                    - rows
                        .of(item)
                        .iter()
                        .map(|&r| lambda[r as usize])
                        .sum::<f64>()
            };
            if full {
                rows_changed = false;
                // Each item's reduced cost and smoothed solution, and below each row's
                // gradient, depend on nothing computed in the same pass: large components split
                // them over threads, and the sums stay in one order, so the numbers are the
                // same either way.
                let price = |(item, (cost, smooth)): (usize, (&mut f64, &mut f64))| {
                    *cost = reduced_cost(item);
                    *smooth = logistic(*cost);
                };
                if self.len() >= PARALLEL_DUAL {
                    reduced
                        .par_iter_mut()
                        .zip(smooth.par_iter_mut())
                        .enumerate()
                        .for_each(price);
                } else {
                    reduced
                        .iter_mut()
                        .zip(smooth.iter_mut())
                        .enumerate()
                        .for_each(price);
                }
                let bound: f64 = lambda
                    .iter()
                    .zip(rows.rhs())
                    .map(|(l, r)| l * r)
                    .sum::<f64>()
                    + reduced.iter().map(|c| c.max(0.0)).sum::<f64>();
                if bound < best_bound - 1e-12 {
                    best_bound = bound;
                    best_costs.clone_from(&reduced);
                }
                if best_bound - target < 1e-9 {
                    break;
                }
                // Stop once the bound has all but stopped moving: what is left of the budget
                // goes to the search.
                if step % STALL_STEPS == 0 {
                    if step > SEPARATE_AT[SEPARATE_AT.len() - 1]
                        && checkpoint - best_bound < STALL_SHARE * best_bound.abs()
                    {
                        break;
                    }
                    checkpoint = best_bound;
                }
                // The active items: those near enough to a positive reduced cost to reach it
                // before the next full step (see ACTIVE_Z). The others' logistic stays 0.
                let is_active = |&i: &u32| {
                    let reach: f64 = rows.of(i as usize).iter().map(|&r| falls[r as usize]).sum();
                    reduced[i as usize] >= -ACTIVE_Z * mu - reach
                };
                active.clear();
                if self.len() >= PARALLEL_DUAL {
                    // In item order, as the serial filter gives it.
                    active.par_extend((0..self.len() as u32).into_par_iter().filter(is_active));
                } else {
                    active.extend((0..self.len() as u32).filter(is_active));
                }
                falls.iter_mut().for_each(|f| *f = 0.0);
                active_smooth.clear();
                active_smooth.extend(active.iter().map(|&i| smooth[i as usize]));
                active_rows.refill(&active, &rows);
                active_cost = (active_rows.entries() + rows.count()) as u64 / 4 * STEP_PASSES;
            } else {
                let price = |(&item, smooth): (&u32, &mut f64)| {
                    *smooth = logistic(reduced_cost(item as usize));
                };
                if active.len() >= PARALLEL_DUAL {
                    active
                        .par_iter()
                        .zip(active_smooth.par_iter_mut())
                        .for_each(price);
                } else {
                    active.iter().zip(active_smooth.iter_mut()).for_each(price);
                }
            }
            if step >= average_from {
                for (&i, x) in active.iter().zip(&active_smooth) {
                    average[i as usize] += x;
                }
                averaged += 1.0;
            }
            // A projected gradient step from the extrapolated point, then the next
            // extrapolation (kept at or above 0, so that every point's bound is valid). Each
            // row's step needs only its own gradient: one pass over the rows does both.
            let next_momentum = (1.0 + (1.0 + 4.0 * momentum * momentum).sqrt()) / 2.0;
            let beta = (momentum - 1.0) / next_momentum;
            let step_row = |(row, ((l, p), fell)): (usize, ((&mut f64, &mut f64), &mut f64))| {
                let gradient = rows.rhs()[row]
                    - active_rows
                        .of(row)
                        .iter()
                        .map(|&k| active_smooth[k as usize])
                        .sum::<f64>();
                let stepped = (*l - STEP_SIZE * mu * gradient).max(0.0);
                let next = (stepped + beta * (stepped - *p)).max(0.0);
                *fell += (*l - next).max(0.0);
                *l = next;
                *p = stepped;
            };
            if self.len() >= PARALLEL_DUAL {
                lambda
                    .par_iter_mut()
                    .zip(previous.par_iter_mut())
                    .zip(falls.par_iter_mut())
                    .enumerate()
                    .for_each(step_row);
            } else {
                lambda
                    .iter_mut()
                    .zip(previous.iter_mut())
                    .zip(falls.iter_mut())
                    .enumerate()
                    .for_each(step_row);
            }
            momentum = next_momentum;
        }
        if averaged > 0.0 {
            // Rounding order: the averaged solution, ties by weight.
            let max_weight = self.weight.iter().copied().max().unwrap_or(1).max(1) as f64;
            snapshots.push(
                average
                    .iter()
                    .zip(&self.weight)
                    .map(|(x, w)| x / averaged + 1e-6 * (*w as f64 / max_weight))
                    .collect(),
            );
        }
        if !best_costs.is_empty() {
            snapshots.push(best_costs);
        }
        (best_bound, snapshots)
    }
}
