/** `import url from './x.ts?webray-module'`: the URL of a task module (see webray/vite). */
declare module '*?webray-module' {
  const url: string;
  export default url;
}
