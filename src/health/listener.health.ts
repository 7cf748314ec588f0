import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { TokenEventsService } from '../verification/token-events.service.js';

/**
 * The LISTEN connection that carries token changes from other instances is up. Without it this
 * instance could keep serving a revoked token from its cache, so it is not ready. With the cache off
 * (KEYWARD_AUTH_CACHE_TTL=0) there is nothing to invalidate and no listener: up. On the embedded
 * database there is no connection either: changes arrive in-process (`embedded`).
 */
@Injectable()
export class ListenerHealthIndicator {
  constructor(
    private readonly events: TokenEventsService,
    private readonly indicator: HealthIndicatorService,
  ) {}

  check(key: string) {
    const session = this.indicator.check(key);
    if (this.events.listenerState() === 'embedded') return session.up({ state: 'embedded' });
    const state = this.events.state;
    return state === 'reconnecting' ? session.down({ state }) : session.up({ state });
  }
}
