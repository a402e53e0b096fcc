/**
 * One timer that serves many deadlines: `ensureBy` only ever moves it earlier, and
 * `onFire` decides what is overdue and asks again for the next deadline. Arming and
 * clearing a timer per read or per lock-step stage cost tens of µs an exchange, paid on
 * every exchange of a lock-step protocol; comparing two numbers costs nothing.
 */
export class DeadlineTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private due = Infinity;

  constructor(
    private readonly onFire: () => void,
    /** Unref'd timers do not keep the process alive on their own. */
    private readonly unref = false,
  ) {}

  /** Makes sure `onFire` runs by `deadline` (performance.now() ms). */
  ensureBy(deadline: number): void {
    if (this.timer !== undefined) {
      if (this.due <= deadline) return;
      clearTimeout(this.timer);
    }
    this.due = deadline;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.due = Infinity;
        this.onFire();
      },
      Math.max(1, deadline - performance.now()),
    );
    if (this.unref) this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = Infinity;
  }
}
