/**
 * The walker's MJCF model, written for this demo: a planar biped (torso, and per leg a thigh, a
 * shin and a foot) that moves in the x–z plane on three root joints (slide x, slide z, hinge y),
 * with six hinge joints (hips, knees, ankles) each driven by a motor in [-1, 1] × gear.
 * Bodies sit at their true positions (the torso's centre at z = 1.25, the hips at 1.05, the
 * knees at 0.6, the ankles at 0.1); each capsule runs along its body's local z axis (the feet
 * along x), so the drawing reads geoms as segments. Limbs collide with the floor, not with each other.
 */
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
      <body name="thigh_r" pos="0 0 -0.2">
        <joint name="hip_r" type="hinge" axis="0 -1 0" range="-150 0"/>
        <geom name="thigh_r" type="capsule" fromto="0 0 0 0 0 -0.45" size="0.05"/>
        <body name="shin_r" pos="0 0 -0.45">
          <joint name="knee_r" type="hinge" axis="0 -1 0" range="-150 0"/>
          <geom name="shin_r" type="capsule" fromto="0 0 0 0 0 -0.5" size="0.04"/>
          <body name="foot_r" pos="0 0 -0.5">
            <joint name="ankle_r" type="hinge" axis="0 -1 0" range="-45 45"/>
            <geom name="foot_r" type="capsule" fromto="-0.05 0 0 0.15 0 0" size="0.06"/>
          </body>
        </body>
      </body>
      <body name="thigh_l" pos="0 0 -0.2">
        <joint name="hip_l" type="hinge" axis="0 -1 0" range="-150 0"/>
        <geom name="thigh_l" type="capsule" fromto="0 0 0 0 0 -0.45" size="0.05"/>
        <body name="shin_l" pos="0 0 -0.45">
          <joint name="knee_l" type="hinge" axis="0 -1 0" range="-150 0"/>
          <geom name="shin_l" type="capsule" fromto="0 0 0 0 0 -0.5" size="0.04"/>
          <body name="foot_l" pos="0 0 -0.5">
            <joint name="ankle_l" type="hinge" axis="0 -1 0" range="-45 45"/>
            <geom name="foot_l" type="capsule" fromto="-0.05 0 0 0.15 0 0" size="0.06"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="hip_r"/>
    <motor joint="knee_r"/>
    <motor joint="ankle_r"/>
    <motor joint="hip_l"/>
    <motor joint="knee_l"/>
    <motor joint="ankle_l"/>
  </actuator>
</mujoco>
`;
