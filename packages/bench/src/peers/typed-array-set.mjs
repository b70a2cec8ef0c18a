// Baseline for storing a large array: one TypedArray.set into memory allocated (and touched) beforehand.
export async function start() {
  return {
    name: 'TypedArray.set',
    bigPut(bytes) {
      const src = new Float64Array(bytes / 8).fill(1);
      const dst = new Float64Array(bytes / 8).fill(0);
      return () => {
        dst.set(src);
      };
    },
    stop: async () => undefined,
  };
}
