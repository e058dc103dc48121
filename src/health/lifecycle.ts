import { Global, Injectable, Module } from '@nestjs/common';

// Whether this instance is on its way out: it then answers /health/ready with 503, so a load
// balancer sends new work elsewhere while the runs in hand finish.
@Injectable()
export class Lifecycle {
  private draining = false;

  drain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }
}

@Global()
@Module({ providers: [Lifecycle], exports: [Lifecycle] })
export class LifecycleModule {}
