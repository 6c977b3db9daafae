use super::Describe;

/// A generic stack: its methods are qualified as `Stack.push`, generics dropped.
#[derive(Default)]
pub struct Stack<T> {
    items: Vec<T>,
}

impl<T: Clone> Stack<T> {
    pub const fn new() -> Self {
        Stack { items: Vec::new() }
    }

    pub fn push(&mut self, item: T) {
        self.items.push(item);
    }

    pub fn items(&self) -> Vec<T> {
        self.items.clone()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }
}

impl<T: ToString + Clone> Describe for Stack<T> {
    fn label(&self) -> String {
        let parts: Vec<String> = self.items.iter().map(ToString::to_string).collect();
        parts.join(",")
    }
}
