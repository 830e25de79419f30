/**
 * Keeps per-server listings fresh: every server listed at start and then on a timer, any one again on
 * demand, and concurrent requests for the same server sharing one listing. The tool catalogue and the
 * content catalogue (resources, templates, prompts) each hold one.
 */
export class ServerRefresher {
  private readonly refreshing = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private initialLoad: Promise<void> = Promise.resolve();

  constructor(
    private readonly servers: () => Iterable<string>,
    private readonly load: (server: string) => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  /** Lists every server in the background and keeps them fresh; never blocks start-up. */
  start(): void {
    this.initialLoad = this.refreshAll();
    this.timer = setInterval(() => void this.refreshAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Resolves once the first listing of every server has finished (succeeded or failed). */
  loaded(): Promise<void> {
    return this.initialLoad;
  }

  refreshAll(): Promise<void> {
    return Promise.all([...this.servers()].map((server) => this.refresh(server))).then(() => undefined);
  }

  /** Re-lists one server; concurrent requests for the same server share one listing. */
  refresh(server: string): Promise<void> {
    let pending = this.refreshing.get(server);
    if (pending === undefined) {
      pending = this.load(server).finally(() => this.refreshing.delete(server));
      this.refreshing.set(server, pending);
    }
    return pending;
  }
}
