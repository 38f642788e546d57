/**
 * A binary min-heap whose items know their own position, so an item whose key changed can be
 * moved (update) or taken out (remove) in O(log n) instead of a linear search.
 */
export interface HeapSlot {
  /** Position in the heap; -1 when not in it. Owned by the heap. */
  heapIndex: number;
}

export class IndexedHeap<T extends HeapSlot> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  has(item: T): boolean {
    return item.heapIndex >= 0 && this.items[item.heapIndex] === item;
  }

  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  /** Restores the order after `item`'s key changed; inserts it if absent. */
  update(item: T): void {
    if (!this.has(item)) {
      this.push(item);
      return;
    }
    this.down(this.up(item.heapIndex));
  }

  remove(item: T): void {
    if (!this.has(item)) return;
    const i = item.heapIndex;
    const last = this.items.pop()!;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.down(this.up(i));
  }

  clear(): void {
    for (const it of this.items) it.heapIndex = -1;
    this.items.length = 0;
  }

  private up(i: number): number {
    const items = this.items;
    const item = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.less(item, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    items[i] = item;
    item.heapIndex = i;
    return i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!this.less(child, item)) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
