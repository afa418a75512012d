//! Dependency cycles between resources.

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt};

/// Every elementary cycle found by a depth-first walk, each reported once (by its set of
/// members) and rotated to start at the member that comes first in `order` (file order).
/// `deps[i]` names the resources `order[i]` depends on; unknown names are ignored.
pub(crate) fn find_cycles(order: &[&str], deps: &[Vec<&str>]) -> Vec<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Gray,
        Black,
    }
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(order.len());
    for (i, n) in order.iter().enumerate() {
        index.insert(*n, i);
    }
    let edges: Vec<Vec<usize>> = (0..order.len())
        .map(|i| {
            deps.get(i)
                .into_iter()
                .flatten()
                .filter_map(|d| index.get(d).copied())
                .collect()
        })
        .collect();
    let mut color = vec![Color::White; order.len()];
    let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
    let mut cycles = Vec::new();
    for start in 0..order.len() {
        if color[start] != Color::White {
            continue;
        }
        // Iterative DFS: (node, next edge to follow); `path` mirrors the gray nodes.
        let mut stack = vec![(start, 0usize)];
        color[start] = Color::Gray;
        while let Some(top) = stack.last_mut() {
            let node = top.0;
            if let Some(&to) = edges[node].get(top.1) {
                top.1 += 1;
                match color[to] {
                    Color::White => {
                        color[to] = Color::Gray;
                        stack.push((to, 0));
                    }
                    Color::Gray => {
                        let from = stack.iter().position(|(n, _)| *n == to).unwrap_or(0);
                        let members: Vec<usize> = stack[from..].iter().map(|(n, _)| *n).collect();
                        let mut key = members.clone();
                        key.sort_unstable();
                        if seen.insert(key) {
                            let first = members
                                .iter()
                                .enumerate()
                                .min_by_key(|(_, m)| **m)
                                .map_or(0, |(i, _)| i);
                            let mut rotated: Vec<String> = members[first..]
                                .iter()
                                .chain(&members[..first])
                                .map(|m| order[*m].to_string())
                                .collect();
                            rotated.push(rotated[0].clone());
                            cycles.push(rotated);
                        }
                    }
                    Color::Black => {}
                }
            } else {
                color[node] = Color::Black;
                stack.pop();
            }
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// `deps` as `find_cycles` takes it: aligned with `order`.
    fn aligned<'a>(order: &[&str], deps: &[(&str, Vec<&'a str>)]) -> Vec<Vec<&'a str>> {
        order
            .iter()
            .map(|n| {
                deps.iter()
                    .find(|(m, _)| m == n)
                    .map(|(_, d)| d.clone())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn finds_a_three_cycle_starting_at_the_first_declared() {
        let order = ["a", "b", "c", "d"];
        let deps = aligned(
            &order,
            &[
                ("b", vec!["c"]),
                ("c", vec!["a"]),
                ("a", vec!["b"]),
                ("d", vec!["a"]),
            ],
        );
        assert_eq!(
            find_cycles(&order, &deps),
            vec![names(&["a", "b", "c", "a"])]
        );
    }

    #[test]
    fn acyclic_graphs_have_no_cycle() {
        let order = ["a", "b", "c"];
        let deps = aligned(&order, &[("a", vec!["b", "c"]), ("b", vec!["c"])]);
        assert!(find_cycles(&order, &deps).is_empty());
    }
}
