// Reading .grad where backward() never puts one (a computed tensor): null, with PyTorch's warning, once.
// A file of its own: the warning is said once per program, and each test file is a program of its own.
import { describe, expect, it, vi } from 'vitest';
import { init, sum, tensor } from '../src/index.js';

describe('.grad of a tensor that is not a leaf', () => {
  it('is null, and says why once: the slip of a ported update w = w - lr * w.grad', async () => {
    await init({ backend: 'cpu' });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const x = tensor([1, 2, 3]);
      let w = tensor([0.5, 0.5, 0.5], { requiresGrad: true });
      // Leaves and tensors that do not require grad read null (or their gradient) without a word.
      expect(w.grad).toBeNull();
      expect(x.mul(2).grad).toBeNull();
      sum(w.mul(x)).backward();
      expect(w.grad).not.toBeNull();
      // retainGrad() fills a computed tensor's .grad, with no warning (checked before the one warning).
      const y = w.mul(3);
      y.retainGrad();
      expect(y.grad).toBeNull();
      sum(y).backward();
      expect(Array.from(await y.grad!.data())).toEqual([1, 1, 1]);
      expect(warn).not.toHaveBeenCalled();
      // The update made without a new leaf: the next step's w is computed, and backward() skips its .grad.
      w = w.sub(w.grad!.mul(0.1));
      sum(w.mul(x)).backward();
      expect(w.grad).toBeNull();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toContain(
        'webgrad: .grad of a tensor that is not a leaf is read: backward() does not fill it, so it is null. ' +
          'Call retainGrad() on it before backward()',
      );
      // Said once.
      expect(w.grad).toBeNull();
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});
