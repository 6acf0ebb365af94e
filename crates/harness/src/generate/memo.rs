//! A strategy adaptor that builds each drawn value once, however often proptest asks for it.
//!
//! A value tree's `current()` is called more than once per draw:
//! `proptest-state-machine` asks for the initial state to draw the transitions
//! and again to hand the case out, and a `prop_map` runs its function on every
//! call. A generated world is costly to build (fake names, canaries), so
//! [`memo`] keeps the last value until the tree is simplified or complicated.

use std::cell::OnceCell;

use proptest::strategy::{NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;

/// `strategy`, with each value its tree yields built once per shrinking step.
pub fn memo<S: Strategy>(strategy: S) -> Memo<S>
where
    S::Value: Clone,
{
    Memo(strategy)
}

/// See [`memo`].
#[derive(Clone, Debug)]
pub struct Memo<S>(S);

impl<S: Strategy> Strategy for Memo<S>
where
    S::Value: Clone,
{
    type Tree = MemoTree<S::Tree>;
    type Value = S::Value;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        Ok(MemoTree { inner: self.0.new_tree(runner)?, current: OnceCell::new() })
    }
}

/// The value tree of [`Memo`].
#[derive(Debug)]
pub struct MemoTree<T: ValueTree> {
    inner: T,
    current: OnceCell<T::Value>,
}

impl<T: ValueTree> ValueTree for MemoTree<T>
where
    T::Value: Clone,
{
    type Value = T::Value;

    fn current(&self) -> T::Value {
        self.current.get_or_init(|| self.inner.current()).clone()
    }

    fn simplify(&mut self) -> bool {
        self.current = OnceCell::new();
        self.inner.simplify()
    }

    fn complicate(&mut self) -> bool {
        self.current = OnceCell::new();
        self.inner.complicate()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn builds_each_value_once_and_again_after_each_shrinking_step() {
        static BUILT: AtomicUsize = AtomicUsize::new(0);
        let strategy = memo((0u32..1000).prop_map(|n| {
            BUILT.fetch_add(1, Ordering::SeqCst);
            n
        }));
        let mut runner = TestRunner::deterministic();
        let mut tree = strategy.new_tree(&mut runner).expect("a tree");
        let first = tree.current();
        assert_eq!(tree.current(), first);
        assert_eq!(BUILT.load(Ordering::SeqCst), 1);

        // Shrinking must see the simplified value, not the cached one.
        let mut previous = first;
        while tree.simplify() {
            let now = tree.current();
            assert!(now <= previous, "{now} after {previous}");
            previous = now;
        }
        assert_eq!(previous, 0);
        assert!(BUILT.load(Ordering::SeqCst) > 1);
    }
}
