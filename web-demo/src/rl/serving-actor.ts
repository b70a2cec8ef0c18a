/**
 * The serving actor class for the page: `policyServer().remote('walker', seed)` makes the actor
 * (see serving.ts), imported by its worker as a module (it loads MuJoCo).
 */
import * as ray from 'webray';
import { PolicyServer } from './serving.ts';
import servingUrl from './serving.ts?webray-module';

/** `PolicyServer` as a webray actor class; `module` overrides where the workers import serving.ts from (default: as the app serves it). */
export function policyServer(module: string | URL = servingUrl): ray.ActorClass<typeof PolicyServer> {
  return ray.remote(PolicyServer, { module, exportName: 'PolicyServer' });
}
