//! A small directed acyclic graph keyed by any ordered type: dependencies in, dependents
//! out. The engine uses it for native resources; the scheduler walks it with in-degree
//! counts so a node starts the moment its last dependency finishes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A directed graph where an edge `a -> b` means "b depends on a" (a goes first).
#[derive(Debug, Clone)]
pub struct Dag<K: Ord + Clone> {
    deps: BTreeMap<K, BTreeSet<K>>,
    dependents: BTreeMap<K, BTreeSet<K>>,
}

impl<K: Ord + Clone> Default for Dag<K> {
    fn default() -> Self {
        Dag {
            deps: BTreeMap::new(),
            dependents: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone + std::fmt::Display> Dag<K> {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a node (idempotent).
    pub fn add_node(&mut self, k: K) {
        self.deps.entry(k.clone()).or_default();
        self.dependents.entry(k).or_default();
    }

    /// Add the edge "`node` depends on `dep`". Both nodes are added if missing; a
    /// self-edge is ignored.
    pub fn add_edge(&mut self, dep: K, node: K) {
        if dep == node {
            return;
        }
        self.add_node(dep.clone());
        self.add_node(node.clone());
        self.deps
            .entry(node.clone())
            .or_default()
            .insert(dep.clone());
        self.dependents.entry(dep).or_default().insert(node);
    }

    /// Whether the node exists.
    pub fn contains(&self, k: &K) -> bool {
        self.deps.contains_key(k)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.deps.len()
    }

    /// Whether the graph has no node.
    pub fn is_empty(&self) -> bool {
        self.deps.is_empty()
    }

    /// Nodes, in key order.
    pub fn nodes(&self) -> impl Iterator<Item = &K> {
        self.deps.keys()
    }

    /// What `k` depends on.
    pub fn deps_of(&self, k: &K) -> impl Iterator<Item = &K> {
        self.deps.get(k).into_iter().flatten()
    }

    /// What depends on `k`.
    pub fn dependents_of(&self, k: &K) -> impl Iterator<Item = &K> {
        self.dependents.get(k).into_iter().flatten()
    }

    /// Every node that transitively depends on `k` (not `k` itself).
    pub fn transitive_dependents(&self, k: &K) -> BTreeSet<K> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<&K> = self.dependents_of(k).collect();
        while let Some(n) = queue.pop_front() {
            if seen.insert(n.clone()) {
                queue.extend(self.dependents_of(n));
            }
        }
        seen
    }

    /// A topological order (dependencies first), or the nodes of one cycle in order.
    pub fn topo_order(&self) -> Result<Vec<K>, Vec<K>> {
        let mut indeg: BTreeMap<&K, usize> = self.deps.iter().map(|(k, d)| (k, d.len())).collect();
        let mut ready: VecDeque<&K> = indeg
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(k, _)| *k)
            .collect();
        let mut order = Vec::with_capacity(self.deps.len());
        while let Some(k) = ready.pop_front() {
            order.push(k.clone());
            for d in self.dependents_of(k) {
                if let Some(n) = indeg.get_mut(d) {
                    *n -= 1;
                    if *n == 0 {
                        ready.push_back(d);
                    }
                }
            }
        }
        if order.len() == self.deps.len() {
            return Ok(order);
        }
        let remaining: BTreeSet<&K> = indeg
            .iter()
            .filter(|(_, d)| **d > 0)
            .map(|(k, _)| *k)
            .collect();
        Err(self.find_cycle(&remaining))
    }

    /// Walk dependencies from a node left over by Kahn's algorithm until one repeats.
    fn find_cycle(&self, remaining: &BTreeSet<&K>) -> Vec<K> {
        let Some(start) = remaining.iter().next() else {
            return Vec::new();
        };
        let mut path: Vec<&K> = vec![start];
        let mut cur: &K = start;
        loop {
            let Some(next) = self.deps_of(cur).find(|d| remaining.contains(d)) else {
                return path.into_iter().cloned().collect();
            };
            if let Some(pos) = path.iter().position(|p| *p == next) {
                let mut cycle: Vec<K> = path[pos..].iter().map(|k| (*k).clone()).collect();
                // Dependencies were walked backwards; present the cycle in "needs" order.
                cycle.reverse();
                return cycle;
            }
            path.push(next);
            cur = next;
        }
    }

    /// Render a cycle as `a -> b -> c -> a`.
    pub fn cycle_to_string(cycle: &[K]) -> String {
        let mut s: Vec<String> = cycle.iter().map(|k| k.to_string()).collect();
        if let Some(first) = s.first().cloned() {
            s.push(first);
        }
        s.join(" -> ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topo_order_puts_dependencies_first() {
        let mut g = Dag::new();
        g.add_edge("db", "api");
        g.add_edge("bucket", "cdn");
        g.add_edge("api", "cdn");
        let order = g.topo_order().unwrap();
        let pos = |k| order.iter().position(|x| *x == k).unwrap();
        assert!(pos("db") < pos("api"));
        assert!(pos("api") < pos("cdn"));
        assert!(pos("bucket") < pos("cdn"));
        assert_eq!(
            g.transitive_dependents(&"db"),
            ["api", "cdn"].into_iter().collect()
        );
    }

    #[test]
    fn reports_a_cycle_with_its_path() {
        let mut g = Dag::new();
        g.add_edge("a", "b");
        g.add_edge("b", "c");
        g.add_edge("c", "a");
        g.add_edge("x", "a");
        let cycle = g.topo_order().unwrap_err();
        assert_eq!(cycle.len(), 3);
        let s = Dag::cycle_to_string(&cycle);
        assert!(
            s == "a -> b -> c -> a" || s == "b -> c -> a -> b" || s == "c -> a -> b -> c",
            "{s}"
        );
    }
}
