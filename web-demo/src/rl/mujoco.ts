/**
 * MuJoCo (`mujoco-js`, ~11 MB of WebAssembly) loaded lazily, once per thread: the first caller
 * in a worker pays ~0.1-1 s, every later task and actor in that worker reuses the instance
 * (module scope lives as long as the worker).
 */
import type { MainModule, MjData, MjModel } from 'mujoco-js';

let loading: Promise<MainModule> | undefined;
let modelCount = 0;

/** The thread's MuJoCo instance, loaded on first use. */
export function loadMujoco(): Promise<MainModule> {
  loading ??= import('mujoco-js').then(async ({ default: factory }) => {
    const mujoco = await factory();
    mujoco.FS.mkdir('/models');
    mujoco.FS.mount(mujoco.MEMFS, { root: '.' }, '/models');
    return mujoco;
  });
  return loading;
}

/** Raised for an MJCF model MuJoCo refuses; its raw error (a CppException) says nothing more than its kind. */
export class MujocoModelError extends Error {
  override name = 'MujocoModelError';
}

/**
 * Compiles an MJCF model. MuJoCo's own error is an opaque `CppException` naming only its kind
 * (mjXError: the XML does not follow the schema; mjCError: values that do not compile
 * together): this turns it into an error that says so and what to check.
 */
export function loadModel(mujoco: MainModule, name: string, xml: string): { model: MjModel; data: MjData } {
  const path = `/models/${name}-${modelCount++}.xml`;
  mujoco.FS.writeFile(path, xml);
  let model: MjModel;
  try {
    model = mujoco.MjModel.loadFromXML(path);
  } catch (e) {
    const kind = (e as { name?: string } | null)?.name ?? String(e);
    const why = kind === 'mjXError' ? 'the XML does not follow the MJCF schema (an unknown element, attribute or value)'
      : kind === 'mjCError' ? 'its values do not compile together (e.g. a geom with both fromto and pos, a body without mass)'
        : 'MuJoCo refused it';
    throw new MujocoModelError(`MuJoCo could not load the MJCF model '${name}': ${kind}, ${why}. ` +
      'MuJoCo gives no detail here: check the model against https://mujoco.readthedocs.io/en/stable/XMLreference.html, ' +
      'or load it in MuJoCo\'s native viewer (simulate), which prints the line.', { cause: e });
  } finally {
    mujoco.FS.unlink(path);
  }
  return { model, data: new mujoco.MjData(model) };
}
