/**
 * The walker's MJCF model, written for this demo: a planar biped (torso, and per leg a thigh, a
 * shin and a foot) that moves in the x–z plane on three root joints (slide x, slide z, hinge y),
 * with six hinge joints (hips, knees, ankles) each driven by a motor in [-1, 1] × gear.
 * Bodies sit at their true positions (the torso's centre at z = 1.25, the hips at 1.05, the
 * knees at 0.6, the ankles at 0.1); each capsule runs along its body's local z axis (the feet
 * along x), so the drawing reads geoms as segments. Limbs collide with the floor, not with each other.
 */
/** One leg, `side` r or l: the two are the same, one over the other in the plane. */
const leg = (side: 'r' | 'l') => `      <body name="thigh_${side}" pos="0 0 -0.2">
        <joint name="hip_${side}" type="hinge" axis="0 -1 0" range="-150 0"/>
        <geom name="thigh_${side}" type="capsule" fromto="0 0 0 0 0 -0.45" size="0.05"/>
        <body name="shin_${side}" pos="0 0 -0.45">
          <joint name="knee_${side}" type="hinge" axis="0 -1 0" range="-150 0"/>
          <geom name="shin_${side}" type="capsule" fromto="0 0 0 0 0 -0.5" size="0.04"/>
          <body name="foot_${side}" pos="0 0 -0.5">
            <joint name="ankle_${side}" type="hinge" axis="0 -1 0" range="-45 45"/>
            <geom name="foot_${side}" type="capsule" fromto="-0.05 0 0 0.15 0 0" size="0.06"/>
          </body>
        </body>
      </body>
`;

/** The motors of one leg, in the order of the policy's actions: hip, knee, ankle. */
const motors = (side: 'r' | 'l') => ['hip', 'knee', 'ankle'].map((joint) => `    <motor joint="${joint}_${side}"/>\n`).join('');

export const WALKER_MJCF = `<mujoco model="webray-walker">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option timestep="0.004"/>
  <default>
    <joint armature="0.01" damping="0.1" limited="true"/>
    <geom contype="1" conaffinity="0" condim="3" friction="0.9 0.1 0.1" density="1000"/>
    <motor ctrllimited="true" ctrlrange="-1 1" gear="100"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="100 2 0.1" conaffinity="1"/>
    <body name="torso" pos="0 0 1.25">
      <joint name="rootx" type="slide" axis="1 0 0" limited="false" armature="0" damping="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" limited="false" armature="0" damping="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" limited="false" armature="0" damping="0"/>
      <geom name="torso" type="capsule" fromto="0 0 0.2 0 0 -0.2" size="0.05"/>
${leg('r')}${leg('l')}    </body>
  </worldbody>
  <actuator>
${motors('r')}${motors('l')}  </actuator>
</mujoco>
`;
